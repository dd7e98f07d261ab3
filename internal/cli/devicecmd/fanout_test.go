package devicecmd_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/cli/devicecmd"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

type fanLine struct {
	Thing    string          `json:"thing"`
	Outcome  string          `json:"outcome"`
	ExitCode int             `json:"exitCode"`
	Error    string          `json:"error"`
	Reply    json.RawMessage `json:"reply"`
}

// fanLines decodes every stdout line, failing the test on one that is not
// a thing's JSON line.
func fanLines(t *testing.T, r testutil.Result) map[string]fanLine {
	t.Helper()
	lines := map[string]fanLine{}
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var fl fanLine
		if err := json.Unmarshal([]byte(l), &fl); err != nil || fl.Thing == "" || fl.Outcome == "" {
			t.Fatalf("not a fan-out line: %q (%v)", l, err)
		}
		if _, dup := lines[fl.Thing]; dup {
			t.Fatalf("thing %s printed twice", fl.Thing)
		}
		lines[fl.Thing] = fl
	}
	return lines
}

// fleet writes a things file of n things, thing-000..., with comments and
// blank lines, and queues job-x on the first with of them.
func fleet(t *testing.T, emu *testutil.Emulator, n, with int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# the fleet\n\n")
	var targets []string
	for i := range n {
		name := fmt.Sprintf("thing-%03d", i)
		fmt.Fprintf(&b, "%s  # number %d\n", name, i)
		if i < with {
			targets = append(targets, name)
		}
	}
	path := filepath.Join(t.TempDir(), "fleet.txt")
	testutil.WriteFile(t, path, b.String())
	if with > 0 {
		r := iotjobs.Run(t, nil, append([]string{"emulator", "create-job", "job-x", "--document", "{}", "--emulator", emu.HTTPURL}, targetFlags(targets)...)...)
		testutil.WantExit(t, r, 0)
	}
	return path
}

func targetFlags(things []string) []string {
	var args []string
	for _, thing := range things {
		args = append(args, "--target", thing)
	}
	return args
}

func TestFanOut(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			things := fleet(t, emu, 300, 200)

			r := iotjobs.Run(t, nil, "get-pending", "--things", things, "-e", emu.Endpoint)
			testutil.WantExit(t, r, 0)
			lines := fanLines(t, r)
			if len(lines) != 300 {
				t.Fatalf("%d lines for 300 things", len(lines))
			}
			withJob := 0
			for _, l := range lines {
				if l.Outcome != "accepted" || l.ExitCode != 0 {
					t.Fatalf("get-pending of %s: %+v", l.Thing, l)
				}
				if strings.Contains(string(l.Reply), `"jobId":"job-x"`) {
					withJob++
				}
			}
			if withJob != 200 {
				t.Errorf("%d things have job-x queued, want 200", withJob)
			}

			// describe of a job a third of them lack: ResourceNotFound there.
			r = iotjobs.Run(t, nil, "describe", "job-x", "--things", things, "-e", emu.Endpoint, "--connections", "3", "--parallel", "8")
			testutil.WantExit(t, r, 1)
			lines = fanLines(t, r)
			outcomes := map[string]int{}
			for _, l := range lines {
				outcomes[fmt.Sprintf("%s/%d", l.Outcome, l.ExitCode)]++
			}
			if len(lines) != 300 || outcomes["accepted/0"] != 200 || outcomes["rejected/14"] != 100 {
				t.Errorf("describe over 300 things: %v", outcomes)
			}
			if !strings.Contains(r.Stderr, "100 of 300 things were not accepted") {
				t.Errorf("stderr: %s", r.Stderr)
			}

			// --summary: the table only, its counts those of the lines.
			r = iotjobs.Run(t, nil, "describe", "job-x", "--things", things, "-e", emu.Endpoint, "--summary")
			testutil.WantExit(t, r, 1)
			rows := map[string]bool{}
			for _, line := range strings.Split(r.Stdout, "\n") {
				rows[strings.Join(strings.Fields(line), " ")] = true
			}
			for _, want := range []string{"THINGS 300", "ACCEPTED 200", "REJECTED 100", "QUEUED 200", "SLOWEST TIME OUTCOME"} {
				if !rows[want] {
					t.Errorf("summary lacks the row %q:\n%s", want, r.Stdout)
				}
			}
			if strings.Contains(r.Stderr, "things over") {
				t.Errorf("no progress when stderr is not a terminal:\n%s", r.Stderr)
			}
		})
	}
}

func TestFanOutThingsFromFlagsAndStdin(t *testing.T) {
	emu := testutil.StartEmulator(t)
	r := iotjobs.Run(t, nil, "get-pending", "-t", "a,b", "-t", "c", "-e", emu.Endpoint)
	testutil.WantExit(t, r, 0)
	if lines := fanLines(t, r); len(lines) != 3 {
		t.Errorf("-t a,b -t c: %v", lines)
	}
	// --things - reads stdin: comments, blank lines and spaces ignored.
	cmd := exec.Command(iotjobs.Path, "get-pending", "--things", "-", "-e", emu.Endpoint)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir()}
	cmd.Stdin = strings.NewReader("# the bench\n\nt1\n  t2  # second\n")
	out, err := cmd.Output()
	if err != nil || strings.Count(string(out), `"outcome":"accepted"`) != 2 || !strings.Contains(string(out), `"thing":"t2"`) {
		t.Errorf("--things - from stdin: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"get-pending", "-t", "a,b/c", "-e", emu.Endpoint},
		{"get-pending", "--things", filepath.Join(t.TempDir(), "missing.txt"), "-e", emu.Endpoint},
		{"get-pending", "-t", "a,b", "--parallel", "0", "-e", emu.Endpoint},
		{"get-pending", "-t", "a", "--connections", "2", "-e", emu.Endpoint},
		{"update", "j", "--status", "FAILED", "-t", "a,b", "-e", emu.Endpoint},
	} {
		testutil.WantExit(t, iotjobs.Run(t, nil, bad...), 2)
	}
}

// TestFanOutInterrupted: Ctrl-C stops the sending; what finished is
// printed, the rest is marked canceled, every line stays JSON, exit 130.
func TestFanOutInterrupted(t *testing.T) {
	emu := testutil.StartEmulator(t)
	things := fleet(t, emu, 200, 0)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "get-pending", "--things", things, "-e", emu.Endpoint, "--rate", "40")
	time.Sleep(time.Second)
	p.Signal(t, syscall.SIGINT)
	r := p.Wait(t)
	testutil.WantExit(t, r, 130)
	lines := fanLines(t, r)
	outcomes := map[string]int{}
	for _, l := range lines {
		outcomes[l.Outcome]++
	}
	if len(lines) != 200 || outcomes["accepted"] == 0 || outcomes["canceled"] == 0 || outcomes["accepted"]+outcomes["canceled"] != 200 {
		t.Errorf("after SIGINT: %d lines, %v", len(lines), outcomes)
	}
}

// TestFanOutPacing: a spy on the broker sees the 60 requests of --rate 50
// spread over about 1.2 s (loose bound: more than half a second), and those
// of an unpaced run at once.
func TestFanOutPacing(t *testing.T) {
	emu := testutil.StartEmulator(t)
	things := fleet(t, emu, 60, 0)
	spy := testutil.ConnectDevice(t, emu.Endpoint, "spy")
	spy.Subscribe("$aws/things/+/jobs/get")
	span := func(args ...string) time.Duration {
		t.Helper()
		testutil.WantExit(t, iotjobs.Run(t, nil, append([]string{"get-pending", "--things", things, "-e", emu.Endpoint}, args...)...), 0)
		first := spy.Next()
		last := first
		for range 59 {
			last = spy.Next()
		}
		return last.At.Sub(first.At)
	}
	if s := span("--rate", "50"); s < 500*time.Millisecond {
		t.Errorf("60 requests at --rate 50 arrived within %v", s)
	}
	if s := span(); s > time.Second {
		t.Logf("an unpaced run took %v (a loaded machine?)", s)
	}
}

// TestFanOutOnATerminal: a progress bar and the pacing on stderr, then the
// summary table on stdout instead of the lines.
func TestFanOutOnATerminal(t *testing.T) {
	testutil.IsolateFromUserSettings(t)
	emu := testutil.StartEmulator(t)
	ios, _, out, errOut := iostreams.Test()
	ios.SetTTY(true, true)
	cmd := devicecmd.NewGetPendingCmd(ios)
	cmd.SetArgs([]string{"-t", "t1,t2,t3", "-e", emu.Endpoint})
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "asking 3 things over 1 connection(s), 64 in flight per connection, unpaced") {
		t.Errorf("stderr:\n%s", errOut)
	}
	if !strings.Contains(out.String(), "THINGS") || strings.Contains(out.String(), `"outcome"`) {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestWaitFanOut: wait over 300 things with every outcome. Of the 200 that
// have job-x, 50 are SUCCEEDED and 10 FAILED before the wait starts; once
// the wait has settled those (and the 100 without the job), 130 more are
// updated to SUCCEEDED while it listens, which only notifications can tell
// it; the last 10 stay QUEUED and time out. The same through Mosquitto.
func TestWaitFanOut(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			things := fleet(t, emu, 300, 200)
			operator := testutil.ConnectDevice(t, emu.Endpoint, "operator")
			go func() {
				for range operator.Msgs { // the replies to its updates
				}
			}()
			update := func(from, to int, status string) {
				for i := from; i < to; i++ {
					operator.Publish(fmt.Sprintf("$aws/things/thing-%03d/jobs/job-x/update", i), `{"status":"`+status+`"}`)
				}
			}
			update(0, 50, "SUCCEEDED")
			update(50, 60, "FAILED")

			p := testutil.StartBinary(t, iotjobs.Path, nil, "wait", "job-x", "--things", things, "--until", "succeeded",
				"-e", emu.Endpoint, "--connections", "2", "--parallel", "16", "--timeout", "8s")
			for range 160 { // settled without a notification
				p.Line(t, lineWait)
			}
			update(60, 190, "SUCCEEDED")
			r := p.Wait(t)
			testutil.WantExit(t, r, 1)
			lines := fanLines(t, r)
			outcomes := map[string]int{}
			for _, l := range lines {
				outcomes[fmt.Sprintf("%s/%d", l.Outcome, l.ExitCode)]++
				var reply struct {
					Execution struct{ Status string } `json:"execution"`
				}
				_ = json.Unmarshal(l.Reply, &reply)
				var want string
				switch n := l.Thing; {
				case n < "thing-050" || n >= "thing-060" && n < "thing-190":
					want = "accepted SUCCEEDED"
				case n < "thing-060":
					want = "error FAILED"
				case n < "thing-200":
					want = "timeout QUEUED"
				default:
					want = "rejected "
				}
				if got := l.Outcome + " " + reply.Execution.Status; got != want {
					t.Errorf("%s: %s, want %s (%s)", l.Thing, got, want, l.Reply)
				}
			}
			if len(lines) != 300 || outcomes["accepted/0"] != 180 || outcomes["error/1"] != 10 || outcomes["timeout/4"] != 10 || outcomes["rejected/14"] != 100 {
				t.Errorf("wait over 300 things: %v", outcomes)
			}
			if !strings.Contains(r.Stderr, "120 of 300 things did not reach SUCCEEDED") {
				t.Errorf("stderr: %s", r.Stderr)
			}
		})
	}
}

// TestWaitFanOutInterrupted: Ctrl-C ends a many-thing wait with every
// thing still waiting printed as canceled, and exit 130.
func TestWaitFanOutInterrupted(t *testing.T) {
	emu := testutil.StartEmulator(t)
	things := fleet(t, emu, 20, 20)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "wait", "job-x", "--things", things, "--until", "terminal", "-e", emu.Endpoint, "-v")
	p.WaitStderr(t, "* watching $aws/things/+/jobs/notify, $aws/things/+/jobs/notify-next", lineWait)
	for i := range 20 {
		p.WaitStderr(t, fmt.Sprintf("< $aws/things/thing-%03d/jobs/job-x/get/accepted", i), lineWait)
	}
	p.Signal(t, syscall.SIGINT)
	r := p.Wait(t)
	testutil.WantExit(t, r, 130)
	lines := fanLines(t, r)
	for _, l := range lines {
		if l.Outcome != "canceled" || l.ExitCode != 130 {
			t.Errorf("%s: %+v", l.Thing, l)
		}
	}
	if len(lines) != 20 {
		t.Errorf("%d lines for 20 things", len(lines))
	}
}
