package devicecmd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/cli/devicecmd"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

func TestAcceptedStatusOnlyOnATerminal(t *testing.T) {
	testutil.IsolateFromUserSettings(t)
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "j1", "thing-1", "{}")
	for _, tty := range []bool{false, true} {
		ios, _, out, errOut := iostreams.Test()
		ios.SetTTY(false, tty)
		cmd := devicecmd.NewGetPendingCmd(ios)
		cmd.SetArgs([]string{"-t", "thing-1", "-e", emu.Endpoint})
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
