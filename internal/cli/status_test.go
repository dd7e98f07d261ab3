package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

func TestAcceptedStatusOnlyOnATerminal(t *testing.T) {
	isolateFromUserSettings(t)
	emu := testutil.StartEmulator(t)
	if _, err := emu.Engine().CreateJob(emulator.CreateJobInput{JobID: "j1", Targets: []string{"thing-1"}, Document: "{}"}); err != nil {
		t.Fatal(err)
	}
	for _, tty := range []bool{false, true} {
		ios, _, out, errOut := iostreams.Test()
		ios.SetTTY(false, tty)
		cmd := NewRootCmd(ios)
		cmd.SetArgs([]string{"get-pending", "-t", "thing-1", "-e", emu.Endpoint})
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), `"jobId":"j1"`) {
			t.Errorf("stdout %q", out.String())
		}
		status := errOut.String()
		if tty != (strings.HasPrefix(status, "accepted in ") && strings.HasSuffix(status, " ms\n")) || (!tty && status != "") {
			t.Errorf("stderr a terminal: %v; stderr %q", tty, status)
		}
	}
}

// isolateFromUserSettings keeps a developer's IOTJOBS_* variables and
// profiles out of a test that runs the command tree in this process.
func isolateFromUserSettings(t *testing.T) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "IOTJOBS_") {
			t.Setenv(name, "")
		}
	}
}
