package devicecmd_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/emulator/throttle"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient/mqtttest"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// throttleFirst answers the first n requests RequestThrottled, then
// accepts.
func throttleFirst(n int32) mqtttest.Options {
	var seen atomic.Int32
	return mqtttest.Options{Respond: func(topic string, payload []byte) []mqtttest.Message {
		token := jobs.ClientTokenOf(payload)
		if seen.Add(1) <= n {
			return []mqtttest.Message{{Topic: topic + "/rejected", Payload: fmt.Appendf(nil, `{"code":"RequestThrottled","clientToken":%q,"timestamp":1}`, token)}}
		}
		return []mqtttest.Message{{Topic: topic + "/accepted", Payload: fmt.Appendf(nil, `{"clientToken":%q,"timestamp":2}`, token)}}
	}}
}

func TestRetriesRideOutThrottling(t *testing.T) {
	b := mqtttest.Start(t, throttleFirst(2))
	r := iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "-e", "mqtt://"+b.Addr, "--client-token", "tok", "-v")
	testutil.WantExit(t, r, 0)
	if r.Stdout != `{"clientToken":"tok","timestamp":2}`+"\n" {
		t.Errorf("stdout must hold the last reply only:\n%s", r)
	}
	if strings.Count(r.Stderr, "rejected: RequestThrottled; retrying in") != 2 {
		t.Errorf("--verbose must show each retry:\n%s", r.Stderr)
	}

	b = mqtttest.Start(t, throttleFirst(1))
	testutil.WantExit(t, iotjobs.Run(t, nil, "describe", "j1", "-t", "thing-1", "-e", "mqtt://"+b.Addr, "--retries", "0"), 17)

	// An update without --expected-version could be applied twice: never retried.
	b = mqtttest.Start(t, throttleFirst(1))
	r = iotjobs.Run(t, nil, "update", "j1", "--status", "SUCCEEDED", "-t", "thing-1", "-e", "mqtt://"+b.Addr, "--retries", "3")
	testutil.WantExit(t, r, 17)
	b = mqtttest.Start(t, throttleFirst(1))
	testutil.WantExit(t, iotjobs.Run(t, nil, "update", "j1", "--status", "SUCCEEDED", "--expected-version", "2", "-t", "thing-1", "-e", "mqtt://"+b.Addr), 0)

	testutil.WantExit(t, iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "-e", "mqtt://"+b.Addr, "--retries", "-1"), 2)
}

// TestNoPingPongWithAWatch: a watch and one-shot commands that share the
// thing's client id (the default) used to knock each other off in turn,
// and most one-shot commands failed. The watch now waits after being taken
// over, and a one-shot command taken over before its reply tries again.
func TestNoPingPongWithAWatch(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	watch := testutil.StartBinary(t, iotjobs.Path, nil, "watch", "-t", "thing-1", "-e", emu.Endpoint)
	time.Sleep(300 * time.Millisecond) // connected
	for i := range 5 {
		r := iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "-e", emu.Endpoint)
		if r.ExitCode != 0 {
			t.Fatalf("get-pending %d beside a watch with the same client id:\n%s", i+1, r)
		}
	}
	watch.WaitStderr(t, "reconnecting in 2s", 5*time.Second)
	watch.Signal(t, syscall.SIGTERM)
	if r := watch.Wait(t); r.ExitCode != 0 || !strings.Contains(r.Stderr, "another client connected with the client id") {
		t.Errorf("the watch:\n%s", r)
	}
}

// TestThrottledByTheEmulator: against an emulator with --throttle, a read
// over the rate is RequestThrottled (exit 17), the message says the limit
// and the hint AWS's defaults; with --retries the backoff gets it through.
func TestThrottledByTheEmulator(t *testing.T) {
	// One read every two seconds, a burst of one.
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Throttle = throttle.Limits{Reads: 0.5, Writes: 0.5} }))
	conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
	testutil.WantExit(t, iotjobs.Run(t, nil, append([]string{"get-pending", "--retries", "0"}, conn...)...), 0)
	r := iotjobs.Run(t, nil, append([]string{"get-pending", "--retries", "0"}, conn...)...)
	testutil.WantExit(t, r, 17)
	if !strings.Contains(r.Stdout+r.Stderr, "the account's Jobs reads are limited to 0.5 per second") ||
		!strings.Contains(r.Stderr, "AWS IoT allows an account 200 Jobs reads (get-pending, describe) a second by default, all its devices together") {
		t.Errorf("throttled:\n%s", r)
	}
	// A write names the write limit.
	testutil.WantExit(t, iotjobs.Run(t, nil, append([]string{"start-next", "--retries", "0"}, conn...)...), 0)
	r = iotjobs.Run(t, nil, append([]string{"start-next", "--retries", "0"}, conn...)...)
	testutil.WantExit(t, r, 17)
	if !strings.Contains(r.Stderr, "AWS IoT allows an account 200 Jobs writes (start-next, update) a second by default") {
		t.Errorf("throttled write:\n%s", r)
	}
	testutil.WantExit(t, iotjobs.Run(t, nil, append([]string{"get-pending", "--retries", "4"}, conn...)...), 0)
}

// TestFanOutRetriesThrottling: a fan-out honours --retries as a lone
// command does: against an emulator that allows 20 reads a second, 30
// things asked at once are all accepted with retries, and with
// --retries 0 the refused ones are rejected (17) at once.
func TestFanOutRetriesThrottling(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Throttle = throttle.Limits{Reads: 20} }))
	var things []string
	for i := range 30 {
		things = append(things, fmt.Sprintf("thing-%02d", i))
	}
	args := []string{"get-pending", "-t", strings.Join(things, ","), "-e", emu.Endpoint, "--parallel", "30"}
	r := iotjobs.Run(t, nil, append(args, "--retries", "0")...)
	testutil.WantExit(t, r, 1)
	refused := 0
	for _, l := range fanLines(t, r) {
		if l.Outcome == "rejected" && l.ExitCode == 17 && strings.Contains(string(l.Reply), "RequestThrottled") {
			refused++
		}
	}
	if refused == 0 {
		t.Fatalf("30 reads at once at 20/s, none throttled:\n%s", r)
	}
	time.Sleep(2 * time.Second) // the bucket fills again
	r = iotjobs.Run(t, nil, append(args, "--retries", "6")...)
	testutil.WantExit(t, r, 0)
	if lines := fanLines(t, r); len(lines) != 30 {
		t.Errorf("%d lines:\n%s", len(lines), r)
	}
}

// TestUnpacedFanOutIntoADiscardingBroker: a broker that discards publishes
// over a rate (AWS IoT, and the emulator with --throttle) leaves an
// unpaced fan-out's excess unanswered; the error says so and how to pace
// it, and paced, every thing is answered.
func TestUnpacedFanOutIntoADiscardingBroker(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Throttle = throttle.Limits{Publishes: 20} }))
	var things []string
	for i := range 40 {
		things = append(things, fmt.Sprintf("thing-%02d", i))
	}
	r := iotjobs.Run(t, nil, "get-pending", "-t", strings.Join(things, ","), "-e", emu.Endpoint, "--parallel", "40", "--timeout", "1s")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stderr, "got no reply: a broker that discards publishes over a rate (AWS IoT: 100 a second per connection, as the emulator does with --throttle aws) drops an unpaced fan-out's excess; pace it, e.g. --rate 80") {
		t.Errorf("unpaced into a discarding broker:\n%s", r)
	}
	r = iotjobs.Run(t, nil, "get-pending", "-t", strings.Join(things[:20], ","), "-e", emu.Endpoint, "--rate", "15", "--timeout", "5s")
	testutil.WantExit(t, r, 0)
}

// TestWaitOutlastsThrottling: a wait's describe refused as RequestThrottled
// is sent again after a backoff, for one thing and for many, instead of
// ending the wait with exit 17.
func TestWaitOutlastsThrottling(t *testing.T) {
	// One read every five seconds, a burst of one: the wait starts well
	// within the five seconds after the get-pending, even on a loaded
	// machine.
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Throttle = throttle.Limits{Reads: 0.2} }))
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
	testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "job-1", "--status", "SUCCEEDED")...), 0)
	// The read of this get-pending leaves none for the wait's first look.
	testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "get-pending")...), 0)
	r := iotjobs.Run(t, nil, append(conn, "wait", "job-1", "--until", "SUCCEEDED", "--timeout", "40s", "-v")...)
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stderr, "RequestThrottled") {
		t.Errorf("the first look was not throttled, the test proves nothing:\n%s", r)
	}
	if m := testutil.Reply(t, r); testutil.Path(m, "execution", "status") != "SUCCEEDED" {
		t.Errorf("wait printed %v", m)
	}

	// Ten things at once, at four reads a second: most looks are refused
	// at first, and every thing settles all the same.
	emu = testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Throttle = throttle.Limits{Reads: 4} }))
	var things []string
	for i := range 10 {
		things = append(things, fmt.Sprintf("fleet-%d", i))
	}
	if _, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: "job-f", Targets: things, Document: `{}`}); err != nil {
		t.Fatal(err)
	}
	r = iotjobs.Run(t, nil, "wait", "job-f", "-t", strings.Join(things, ","), "-e", emu.Endpoint, "--until", "QUEUED", "--timeout", "30s", "-v")
	testutil.WantExit(t, r, 0)
	if lines := fanLines(t, r); len(lines) != 10 {
		t.Errorf("%d lines:\n%s", len(lines), r)
	}
	if !strings.Contains(r.Stderr, "RequestThrottled") {
		t.Errorf("no look was throttled, the test proves nothing:\n%s", r.Stderr)
	}
}
