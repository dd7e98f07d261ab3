package emulatorcmd_test

import (
	"context"
	"strings"
	"testing"

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
