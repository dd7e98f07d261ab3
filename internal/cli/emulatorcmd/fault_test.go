package emulatorcmd_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// The fault verbs against an emulator, and the device commands' --retries
// against the faults.
func TestFaults(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	device := func(args ...string) testutil.Result {
		t.Helper()
		return iotjobs.Run(t, nil, append(args, "-t", "thing-1", "-e", emu.Endpoint)...)
	}
	fault := func(args ...string) testutil.Result {
		t.Helper()
		return ctl(t, emu, append([]string{"fault"}, args...)...)
	}

	t.Run("drop-replies", func(t *testing.T) {
		testutil.WantExit(t, fault("drop-replies", "--count", "1", "--thing", "thing-1"), 0)
		testutil.WantExit(t, device("get-pending", "--timeout", "500ms"), 4)
		testutil.WantExit(t, device("get-pending"), 0) // spent
	})
	t.Run("internal-errors and --retries", func(t *testing.T) {
		testutil.WantExit(t, fault("internal-errors", "--count", "1"), 0)
		testutil.WantExit(t, device("get-pending", "--retries", "0"), 16)
		testutil.WantExit(t, fault("internal-errors", "--count", "2"), 0)
		r := device("update", "job-1", "--status", "IN_PROGRESS", "--expected-version", "1", "-v")
		testutil.WantExit(t, r, 0)
		if strings.Count(r.Stderr, "rejected: InternalError; retrying") != 2 {
			t.Errorf("want two retries shown with -v:\n%s", r.Stderr)
		}
		// The refused attempts changed nothing: the update applied once.
		if m := testutil.Reply(t, device("describe", "job-1")); testutil.Path(m, "execution", "versionNumber") != 2.0 {
			t.Errorf("after two injected failures and a success: %v", m)
		}
	})
	t.Run("delay-replies and list", func(t *testing.T) {
		testutil.WantExit(t, fault("delay-replies", "--delay", "200ms", "--count", "2"), 0)
		testutil.WantExit(t, device("get-pending"), 0)
		list := testutil.Reply(t, fault("list"))
		faults, _ := list["faults"].([]any)
		if len(faults) != 1 || testutil.Path(faults[0].(map[string]any), "fired") != 1.0 || testutil.Path(faults[0].(map[string]any), "delayMillis") != 200.0 {
			t.Errorf("fault list: %v", list)
		}
		testutil.WantExit(t, fault("clear"), 0)
		if list := testutil.Reply(t, fault("list")); len(list["faults"].([]any)) != 0 {
			t.Errorf("after clear: %v", list)
		}
	})
	t.Run("duplicate-notifications", func(t *testing.T) {
		watch := testutil.StartBinary(t, iotjobs.Path, nil, "watch", "-t", "thing-2", "--client-id", "thing-2-watch", "-e", emu.Endpoint, "--count", "4", "-o", "json")
		time.Sleep(300 * time.Millisecond)
		testutil.WantExit(t, fault("duplicate-notifications", "--count", "2"), 0)
		testutil.CreateJob(t, emu, "job-2", "thing-2", `{}`)
		r := watch.Wait(t)
		testutil.WantExit(t, r, 0)
		lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		if len(lines) != 4 || lines[0] != lines[1] || lines[2] != lines[3] {
			t.Errorf("want each notification twice:\n%s", r.Stdout)
		}
	})
	t.Run("disconnect", func(t *testing.T) {
		watch := testutil.StartBinary(t, iotjobs.Path, nil, "watch", "-t", "thing-3", "--client-id", "thing-3-watch", "-e", emu.Endpoint)
		time.Sleep(300 * time.Millisecond)
		testutil.WantExit(t, fault("disconnect", "thing-3-watch"), 0)
		watch.WaitStderr(t, "disconnected", 5*time.Second)
		watch.WaitStderr(t, "reconnected", 10*time.Second)
		watch.Signal(t, syscall.SIGTERM)
		testutil.WantExit(t, watch.Wait(t), 0)
		r := fault("disconnect", "nobody")
		testutil.WantExit(t, r, 14)
		if !strings.Contains(r.Stderr, "ResourceNotFoundException") {
			t.Errorf("disconnect of nobody:\n%s", r)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, args := range [][]string{
			{"internal-errors", "--probability", "0"},
			{"internal-errors", "--probability", "1.5"},
			{"delay-replies", "--delay", "0s"},
			{"drop-replies", "--count", "-1"},
			{"drop-replies", "--thing", "a/b"},
			{"disconnect", ""},
		} {
			r := fault(args...)
			if r.ExitCode != 2 {
				t.Errorf("fault %v: want exit 2\n%s", args, r)
			}
		}
	})
}
