package devicecmd_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// lineWait bounds the wait for one line of a watch: generous, a failure
// guard rather than a speed requirement.
const lineWait = 10 * time.Second

// startWatch runs `iotjobs watch` as thing-1 with -v and returns once its
// trace says it is subscribed, so that what happens next is seen. It has a
// client id of its own: the broker drops the older of two clients with
// the same id, and the test's device commands use the thing's name.
func startWatch(t *testing.T, emu *testutil.Emulator, args ...string) *testutil.Process {
	t.Helper()
	p := testutil.StartBinary(t, iotjobs.Path, nil, append([]string{"watch", "-t", "thing-1", "--client-id", "thing-1-watch", "-e", emu.Endpoint, "-v"}, args...)...)
	p.WaitStderr(t, "* watching ", lineWait)
	return p
}

// watchLine is one JSON line of watch.
type watchLine struct {
	Topic   string          `json:"topic"`
	Resync  bool            `json:"resync"`
	Payload json.RawMessage `json:"payload"`
}

func decodeWatchLine(t *testing.T, line string) watchLine {
	t.Helper()
	var l watchLine
	if err := json.Unmarshal([]byte(line), &l); err != nil {
		t.Fatalf("not a JSON line: %v\n%s", err, line)
	}
	return l
}

// nextTwo reads the two lines one change fires, notify and notify-next,
// which may come in either order, and returns them by stream.
func nextTwo(t *testing.T, p *testutil.Process) (notify, next string) {
	t.Helper()
	for range 2 {
		line := p.Line(t, lineWait)
		switch decodeWatchLine(t, line).Topic {
		case "$aws/things/thing-1/jobs/notify":
			notify = line
		case "$aws/things/thing-1/jobs/notify-next":
			next = line
		default:
			t.Fatalf("unexpected line %s", line)
		}
	}
	if notify == "" || next == "" {
		t.Fatalf("want one notify and one notify-next, got %q and %q", notify, next)
	}
	return notify, next
}

func wantMatch(t *testing.T, what, line, pattern string) {
	t.Helper()
	if !regexp.MustCompile("^" + pattern + "$").MatchString(line) {
		t.Errorf("%s:\n got  %s\n want %s", what, line, pattern)
	}
}

// TestWatchFullWalk: a job created after watch started is seen, and a
// QUEUED -> IN_PROGRESS -> SUCCEEDED walk gives exactly the notifications
// of jobs-mqtt-api.md §5, compacted, one line each; SIGTERM ends it with 0.
func TestWatchFullWalk(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			p := startWatch(t, emu)
			conn := []string{"-t", "thing-1", "-e", emu.Endpoint}

			testutil.CreateJob(t, emu, "job-1", "thing-1", `{"operation":"reboot"}`)
			notify, next := nextTwo(t, p)
			wantMatch(t, "notify on create", notify,
				`\{"topic":"\$aws/things/thing-1/jobs/notify","payload":\{"timestamp":\d+,"jobs":\{"QUEUED":\[\{"jobId":"job-1","queuedAt":\d+,"lastUpdatedAt":\d+,"versionNumber":1,"executionNumber":1\}\]\}\}\}`)
			wantMatch(t, "notify-next on create", next,
				`\{"topic":"\$aws/things/thing-1/jobs/notify-next","payload":\{"timestamp":\d+,"execution":\{"jobId":"job-1","status":"QUEUED",.*"jobDocument":\{"operation":"reboot"\}\}\}\}`)

			// Starting the head changes neither the pending set nor the head:
			// nothing. The lines after the SUCCEEDED update come from the same
			// service, in order, so a message here would show up first.
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "start-next")...), 0)
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "job-1", "--status", "SUCCEEDED")...), 0)
			notify, next = nextTwo(t, p)
			wantMatch(t, "notify on success", notify, `\{"topic":"\$aws/things/thing-1/jobs/notify","payload":\{"timestamp":\d+,"jobs":\{\}\}\}`)
			wantMatch(t, "notify-next on success", next, `\{"topic":"\$aws/things/thing-1/jobs/notify-next","payload":\{"timestamp":\d+\}\}`)

			p.Signal(t, syscall.SIGTERM)
			r := p.Wait(t)
			testutil.WantExit(t, r, 0)
			if strings.Count(r.Stdout, "\n") != 4 || strings.Contains(r.Stderr, "interrupted") {
				t.Errorf("after SIGTERM:\n%s", r)
			}
		})
	}
}

func TestWatchEndsCleanly(t *testing.T) {
	emu := testutil.StartEmulator(t)
	t.Run("count", func(t *testing.T) {
		p := startWatch(t, emu, "--count", "2")
		testutil.CreateJob(t, emu, "job-c", "thing-1", `{}`)
		r := p.Wait(t)
		testutil.WantExit(t, r, 0)
		if strings.Count(r.Stdout, "\n") != 2 {
			t.Errorf("--count 2 printed:\n%s", r)
		}
	})
	t.Run("next-only count", func(t *testing.T) {
		p := startWatch(t, emu, "--next-only", "--count", "1")
		testutil.CreateJob(t, emu, "job-n", "thing-2", `{}`) // another thing's: not seen
		testutil.WantExit(t, iotjobs.Run(t, nil, "update", "job-c", "--status", "FAILED", "-t", "thing-1", "-e", emu.Endpoint), 0)
		r := p.Wait(t)
		testutil.WantExit(t, r, 0)
		if l := decodeWatchLine(t, strings.TrimSpace(r.Stdout)); l.Topic != "$aws/things/thing-1/jobs/notify-next" || string(l.Payload) == "" {
			t.Errorf("--next-only --count 1 printed:\n%s", r)
		}
	})
	t.Run("for", func(t *testing.T) {
		p := startWatch(t, emu, "--for", "200ms")
		r := p.Wait(t)
		testutil.WantExit(t, r, 0)
		if r.Stdout != "" {
			t.Errorf("--for printed:\n%s", r)
		}
	})
	t.Run("for bounds the connect", func(t *testing.T) {
		// A listener that accepts and never answers CONNECT: without the
		// bound the watch would wait out --timeout and exit 4.
		silent := testutil.SilentListener(t)
		r := iotjobs.Run(t, nil, "watch", "-t", "thing-1", "-e", "mqtt://"+silent, "--for", "300ms", "--timeout", "50s")
		testutil.WantExit(t, r, 0)
		if !strings.Contains(r.Stderr, "--for 300ms ran out before the connection to mqtt://"+silent+" was complete: nothing was watched") {
			t.Errorf("a watch that never connected says nothing:\n%s", r)
		}
	})
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startWatch(t, emu)
			p.Signal(t, sig)
			r := p.Wait(t)
			testutil.WantExit(t, r, 0)
			if r.Stdout != "" || strings.Contains(r.Stderr, "interrupted") || strings.Contains(r.Stderr, "iotjobs:") {
				t.Errorf("after %v:\n%s", sig, r)
			}
		})
	}
}

// TestWatchSaysItIsRetrying: while the service stays away, each failed
// reconnect attempt is a line on stderr, so the watch is never silent for
// more than the bounded backoff; it reconnects once the service is back.
func TestWatchSaysItIsRetrying(t *testing.T) {
	emu := testutil.StartEmulator(t)
	p := startWatch(t, emu)
	start := emu.Stop(t)
	p.WaitStderr(t, "reconnecting in 2s", lineWait)
	// On this machine the attempts back off to one every 5 s, not 30: the
	// watch is back within seconds of the emulator.
	// Each failed attempt is told at once, with why and when the next one
	// comes.
	p.WaitStderr(t, "still disconnected from mqtt://"+emu.MQTTAddr()+": reconnect attempt 1 failed (dial tcp "+emu.MQTTAddr()+": connect: connection refused); the next within 5s", lineWait)
	start()
	p.WaitStderr(t, "reconnected to mqtt://", 2*mqttclient.LocalMaxRetryInterval)
}

// TestWatchSurvivesEmulatorRestart: the service goes away and comes back on
// the same port with the same store; the watch says so on stderr, resyncs
// with get-pending, and sees what was created while it was away.
func TestWatchSurvivesEmulatorRestart(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithTempDataPath(t))
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	p := startWatch(t, emu)

	emu.Restart(t)
	testutil.CreateJob(t, emu, "job-2", "thing-1", `{}`) // most likely before the watch is back
	p.WaitStderr(t, "disconnected from mqtt://", lineWait)
	p.WaitStderr(t, `hint: the broker closed the connection: it restarted, or another client connected with this one's client id "thing-1-watch"`+"\n", lineWait)
	p.WaitStderr(t, "reconnected to mqtt://", lineWait)

	// The resync line, possibly after job-2's notifications if the watch
	// came back before job-2 was created; either way job-2 is seen.
	sawJob2 := false
	for {
		line := p.Line(t, lineWait)
		l := decodeWatchLine(t, line)
		sawJob2 = sawJob2 || strings.Contains(string(l.Payload), `"job-2"`)
		if !l.Resync {
			continue
		}
		wantMatch(t, "resync", line, `\{"topic":"\$aws/things/thing-1/jobs/get/accepted","resync":true,"payload":\{"inProgressJobs":\[\],"queuedJobs":\[\{"jobId":"job-1",.*\}\],"timestamp":\d+,"clientToken":"[^"]+"\}\}`)
		break
	}
	if !sawJob2 {
		// job-2 came after the resync: its notify follows, alone, as job-1
		// stays the head of the queue (no notify-next).
		notify := decodeWatchLine(t, p.Line(t, lineWait))
		if notify.Topic != "$aws/things/thing-1/jobs/notify" || !strings.Contains(string(notify.Payload), `"job-2"`) {
			t.Errorf("job-2 not seen: %s %s", notify.Topic, notify.Payload)
		}
	}
	p.Signal(t, syscall.SIGINT)
	testutil.WantExit(t, p.Wait(t), 0)
}

func TestWatchPrettyAndBadInput(t *testing.T) {
	emu := testutil.StartEmulator(t)
	t.Run("pretty", func(t *testing.T) {
		p := startWatch(t, emu, "-o", "pretty", "--notify-only", "--count", "1")
		testutil.CreateJob(t, emu, "job-p", "thing-1", `{}`)
		r := p.Wait(t)
		testutil.WantExit(t, r, 0)
		wantMatch(t, "pretty line", strings.TrimSuffix(r.Stdout, "\n"), `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ notify {7}QUEUED job-p`)
	})
	refused := "mqtt://127.0.0.1:1" // connecting would be exit 3, not 2
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--notify-only", "--next-only"}, "exclude each other"},
		{[]string{"--count", "0"}, "invalid --count 0"},
		{[]string{"--for", "-1s"}, "invalid --for"},
		{[]string{"--for", "soon"}, "--for"},
		{[]string{"-t", "a/b"}, "invalid thing name"},
		{[]string{"extra"}, `watch takes no arguments, and "extra" was given`},
	} {
		r := iotjobs.Run(t, nil, append([]string{"watch", "-t", "thing-1", "-e", refused}, tt.args...)...)
		testutil.WantExit(t, r, 2)
		if r.Stdout != "" || !strings.Contains(r.Stderr, tt.want) {
			t.Errorf("watch %v:\n%s", tt.args, r)
		}
	}
}
