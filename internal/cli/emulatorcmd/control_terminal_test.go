package emulatorcmd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/cli/emulatorcmd"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// What a person at a terminal sees from the control-plane verbs (tables,
// status on stderr) and the document read from stdin: in process, as a
// terminal cannot be faked for the binary.

// ctlOnTerminal runs `iotjobs emulator ARGS` with stdout and stderr taken
// for terminals, and stdin holding stdin.
func ctlOnTerminal(t *testing.T, emu *testutil.Emulator, stdin string, args ...string) (stdout, stderr string) {
	t.Helper()
	testutil.IsolateFromUserSettings(t)
	ios, in, out, errOut := iostreams.Test()
	ios.SetTTY(true, true)
	in.WriteString(stdin)
	root := emulatorcmd.NewEmulatorCmd(ios)
	root.SetArgs(append(args, "--emulator", emu.HTTPURL))
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("emulator %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out.String(), errOut.String()
}

// wantLines checks that each want is a line of out, spaces squeezed.
func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[strings.Join(strings.Fields(l), " ")] = true
	}
	for _, w := range want {
		if !lines[w] {
			t.Errorf("no line %q in:\n%s", w, out)
		}
	}
}

func TestControlVerbsOnATerminal(t *testing.T) {
	emu := testutil.StartEmulator(t)

	out, _ := ctlOnTerminal(t, emu, "", "list-jobs")
	wantLines(t, out, "no jobs")
	out, _ = ctlOnTerminal(t, emu, "", "list-executions", "--thing", "dev-1")
	wantLines(t, out, "no executions")

	out, _ = ctlOnTerminal(t, emu, `{"operation":"reboot"}`, "create-job", "j1", "-t", "dev-1,dev-2", "--document", "-", "--description", "from stdin")
	wantLines(t, out, "JOB ID j1", "ARN arn:aws:iot:us-east-1:123456789012:job/j1", "DESCRIPTION from stdin")

	out, _ = ctlOnTerminal(t, emu, "", "describe-job", "j1")
	wantLines(t, out, "STATUS IN_PROGRESS", "TARGETS dev-1, dev-2", "EXECUTIONS 2 queued")
	if strings.Contains(out, "COMPLETED") {
		t.Errorf("an unset completion time is shown:\n%s", out)
	}
	out, _ = ctlOnTerminal(t, emu, "", "describe-job", "j1", "--document")
	wantLines(t, out, `{"operation":"reboot"}`)

	ctlOnTerminal(t, emu, "", "create-job", "j2", "-t", "dev-1", "--document", "{}")
	out, stderr := ctlOnTerminal(t, emu, "", "list-jobs", "--max-results", "1")
	if !strings.HasPrefix(out, "JOB ID") || !strings.Contains(out, "j1") || strings.Contains(out, "j2") {
		t.Errorf("list-jobs table:\n%s", out)
	}
	if !strings.Contains(stderr, "--next-token 1") {
		t.Errorf("no hint for the next page on stderr: %q", stderr)
	}

	out, _ = ctlOnTerminal(t, emu, "", "list-executions", "--job", "j1")
	if !strings.HasPrefix(out, "THING") || !strings.Contains(out, "dev-2") {
		t.Errorf("list-executions --job table:\n%s", out)
	}
	out, _ = ctlOnTerminal(t, emu, "", "list-executions", "--thing", "dev-1")
	if !strings.HasPrefix(out, "JOB ID") || !strings.Contains(out, "j2") {
		t.Errorf("list-executions --thing table:\n%s", out)
	}

	out, stderr = ctlOnTerminal(t, emu, "", "cancel-execution", "j1", "-t", "dev-1", "--status-detail", "by=me")
	if out != "" || !strings.Contains(stderr, "canceled the execution of j1 on dev-1") {
		t.Errorf("cancel-execution: stdout %q, stderr %q", out, stderr)
	}
	out, _ = ctlOnTerminal(t, emu, "", "describe-execution", "j1", "-t", "dev-1")
	wantLines(t, out, "THING dev-1", "STATUS CANCELED", "STATUS DETAILS by=me", "EXECUTION 1")

	out, _ = ctlOnTerminal(t, emu, "", "list-jobs", "-o", "json", "--status", "COMPLETED")
	if out != "{\"jobs\":[]}\n" {
		t.Errorf("-o json on a terminal printed %q, want the API's JSON on one line", out)
	}
}

// TestDescribeJobWatchOnATerminal: the view is drawn, then redrawn in place
// over itself at each change, until the job is COMPLETED. Needs the rollout
// route.
func TestDescribeJobWatchOnATerminal(t *testing.T) {
	emu := testutil.StartEmulator(t)
	ctlOnTerminal(t, emu, "", "create-job", "j1", "-t", "dev-1,dev-2", "--document", "{}")
	ios, _, _, errOut := iostreams.Test()
	ios.SetTTY(true, true)
	out := &testutil.LockedBuffer{}
	ios.Out = out
	root := emulatorcmd.NewEmulatorCmd(ios)
	root.SetArgs([]string{"describe-job", "j1", "--watch", "--interval", "100ms", "--emulator", emu.HTTPURL})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(context.Background()) }()

	frames := func() int { return strings.Count(out.String(), "\033[J") + 1 }
	waitFrames := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); frames() < n || !strings.HasSuffix(out.String(), "\n"); time.Sleep(10 * time.Millisecond) {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("the watch ended before frame %d: %v\n%q", n, err, out)
				}
				done <- nil // it ended with the job, after its last frame
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no frame %d within 10s:\n%q\nstderr: %s", n, out, errOut)
			}
		}
	}
	waitFrames(1)
	wantLines(t, out.String(), "JOB j1 IN_PROGRESS", "THINGS QUEUED 2 IN_PROGRESS 0 SUCCEEDED 0 FAILED 0",
		"REJECTED 0 TIMED_OUT 0 CANCELED 0 REMOVED 0 total 2", "ROLLOUT all at once: 2 notified, 0 waiting",
		"RETRIES none configured", "ABORT none configured")
	for i, thing := range []string{"dev-1", "dev-2"} {
		testutil.WantExit(t, iotjobs.Run(t, nil, "update", "j1", "-t", thing, "-e", emu.Endpoint, "--status", "SUCCEEDED"), 0)
		waitFrames(i + 2)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch: %v\nstderr: %s", err, errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the watch did not end with the job:\n%q", out)
	}
	// Each redraw goes back up over the 7 lines of the frame before.
	if got := strings.Count(out.String(), "\r\033[7A\033[J"); got != 2 {
		t.Errorf("%d redraws over 7 lines, want 2:\n%q", got, out)
	}
	frame := out.String()[strings.LastIndex(out.String(), "\033[J")+len("\033[J"):]
	wantLines(t, frame, "JOB j1 COMPLETED", "THINGS QUEUED 0 IN_PROGRESS 0 SUCCEEDED 2 FAILED 0", "REJECTED 0 TIMED_OUT 0 CANCELED 0 REMOVED 0 total 2")
	if errOut.Len() != 0 {
		t.Errorf("stderr: %s", errOut)
	}
}
