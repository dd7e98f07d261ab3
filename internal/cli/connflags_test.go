package cli

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

func TestWarnImpersonationOnlyOffLoopbackWithTheThingsID(t *testing.T) {
	remote := mqttclient.Endpoint{Host: "a1b2-ats.iot.eu-west-1.amazonaws.com", Port: 8883, TLS: true}
	local := mqttclient.Endpoint{Host: "127.0.0.1", Port: 1883}
	for _, tt := range []struct {
		name     string
		clientID string
		ep       mqttclient.Endpoint
		warn     bool
	}{
		{"remote, thing's id", "thing-1", remote, true},
		{"remote, own id", "operator", remote, false},
		{"loopback, thing's id", "thing-1", local, false},
	} {
		ios, _, _, errOut := iostreams.Test()
		o := connOptions{IO: ios, Thing: "thing-1", ClientID: tt.clientID, endpoint: tt.ep}
		o.warnImpersonation()
		got := errOut.String()
		if tt.warn != (got != "") {
			t.Errorf("%s: warning %q", tt.name, got)
		}
		if tt.warn && (!strings.Contains(got, "will be disconnected") || !strings.Contains(got, "--client-id")) {
			t.Errorf("%s: warning does not say what happens and what to do: %q", tt.name, got)
		}
	}
}

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
