package devicecmd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/cli/devicecmd"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// waitOnTerminal runs wait in-process with stdout and stderr on a
// terminal, and returns its stderr and error.
func waitOnTerminal(t *testing.T, args ...string) (string, error) {
	t.Helper()
	testutil.IsolateFromUserSettings(t)
	ios, _, _, errOut := iostreams.Test()
	ios.SetTTY(true, true)
	cmd := devicecmd.NewWaitCmd(ios)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return errOut.String(), err
}

// TestWaitTalksOnATerminal: a status line says what wait awaits and what it
// last saw, is erased before anything else, and "condition met" ends a
// wait that succeeds. Piped, stderr stays empty (TestWaitQuietWhenPiped).
func TestWaitTalksOnATerminal(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	testutil.CreateJob(t, emu, "done", "thing-1", `{}`)
	conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
	testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "done", "--status", "SUCCEEDED")...), 0)

	stderr, err := waitOnTerminal(t, append(conn, "job-1", "--until", "SUCCEEDED", "--timeout", "1s")...)
	if err == nil {
		t.Fatal("wait for a job nobody runs ended well")
	}
	if !strings.Contains(stderr, "\r\033[Kwaiting for job job-1 of thing-1 to be SUCCEEDED (last seen QUEUED)") || !strings.HasSuffix(stderr, "\r\033[K") {
		t.Errorf("no status line, or not erased at the end: %q", stderr)
	}

	stderr, err = waitOnTerminal(t, append(conn, "done", "--until", "terminal")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "\r\033[Kcondition met: job done is SUCCEEDED\n") {
		t.Errorf("no condition met: %q", stderr)
	}
}

// TestWaitQuietWhenPiped: off a terminal wait says nothing on stderr when it
// ends well, and its default timeout is the documented 10m.
func TestWaitQuietWhenPiped(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "done", "thing-1", `{}`)
	conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
	testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "done", "--status", "SUCCEEDED")...), 0)
	r := iotjobs.Run(t, nil, append(conn, "wait", "done", "--until", "terminal")...)
	testutil.WantExit(t, r, 0)
	if r.Stderr != "" {
		t.Errorf("stderr when piped: %q", r.Stderr)
	}
	r = iotjobs.Run(t, nil, "wait", "--help")
	if !strings.Contains(r.Stdout, "(default 10m0s)") {
		t.Errorf("wait --help does not show the 10m default:\n%s", r.Stdout)
	}
}
