package throttle_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/emulator/throttle"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want throttle.Limits
		err  string
	}{
		{"", throttle.Limits{}, ""},
		{"aws", throttle.AWS, ""},
		{"AWS,reads=10", throttle.Limits{Reads: 10, Writes: 200, Publishes: 100, Connects: 1}, ""},
		{"writes=5, connects=0.5", throttle.Limits{Writes: 5, Connects: 0.5}, ""},
		{"reads", throttle.Limits{}, `"reads": want aws, or KEY=N`},
		{"reads=-1", throttle.Limits{}, `"reads=-1": want aws, or KEY=N`},
		{"qps=3", throttle.Limits{}, `"qps": the limits are reads, writes, publishes and connects`},
	} {
		got, err := throttle.Parse(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) = %v, want an error with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v, want %+v", tt.in, got, err, tt.want)
		}
	}
	if s := throttle.AWS.String(); s != "reads=200,writes=200,publishes=100,connects=1" {
		t.Errorf("AWS.String() = %q", s)
	}
}

func start(t *testing.T, l throttle.Limits) *testutil.Emulator {
	return testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Throttle = l }))
}

// TestJobsRequestsThrottled: past the account's reads per second, requests
// are answered RequestThrottled; writes have their own bucket. Forty
// requests sent at once against a rate of 5 (and a burst of 5): at least
// fifteen are throttled however slow the machine (counts, not times).
func TestJobsRequestsThrottled(t *testing.T) {
	emu := start(t, throttle.Limits{Reads: 5})
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	for i := range 40 {
		dev.Client.Publish("$aws/things/thing-1/jobs/get", 0, false, fmt.Sprintf(`{"clientToken":"g%d"}`, i))
	}
	accepted, throttled := 0, 0
	for range 40 {
		m := dev.Next()
		switch {
		case m.Topic == "$aws/things/thing-1/jobs/get/accepted":
			accepted++
		case strings.Contains(string(m.Payload), `"code":"RequestThrottled"`) &&
			strings.Contains(string(m.Payload), "the account's Jobs reads are limited to 5 per second"):
			throttled++
		default:
			t.Fatalf("unexpected %s %s", m.Topic, m.Payload)
		}
	}
	if throttled < 15 || accepted < 5 {
		t.Errorf("%d accepted and %d throttled of 40 reads at 5/s", accepted, throttled)
	}
	// Writes are not reads: an update goes through.
	dev.Publish("$aws/things/thing-1/jobs/job-1/update", `{"status":"IN_PROGRESS","clientToken":"u"}`)
	if m := dev.NextOn("$aws/things/thing-1/jobs/job-1/update/accepted"); !strings.Contains(string(m.Payload), `"clientToken":"u"`) {
		t.Errorf("update: %s", m.Payload)
	}
}

// TestPublishesPerConnection: past the publishes per second of a
// connection the excess is discarded, and the connection stays.
func TestPublishesPerConnection(t *testing.T) {
	emu := start(t, throttle.Limits{Publishes: 10})
	sub := testutil.ConnectDevice(t, emu.Endpoint, "subscriber")
	sub.Subscribe("t/x")
	pub := testutil.ConnectDevice(t, emu.Endpoint, "publisher")
	for i := range 50 {
		pub.Client.Publish("t/x", 0, false, fmt.Sprint(i))
	}
	got := 0
	for done := false; !done; {
		select {
		case <-sub.Msgs:
			got++
		case <-time.After(500 * time.Millisecond):
			done = true
		}
	}
	if got < 10 || got >= 50 {
		t.Errorf("%d of 50 publishes at once went through a limit of 10/s", got)
	}
	select {
	case err := <-pub.Lost:
		t.Fatalf("the publisher was disconnected: %v", err)
	default:
	}
}

// TestConnectsPerClientID: a second CONNECT with the same client id within
// the second is refused; another client id is not.
func TestConnectsPerClientID(t *testing.T) {
	emu := start(t, throttle.Limits{Connects: 0.1}) // one in ten seconds: no refill in between
	testutil.ConnectDevice(t, emu.Endpoint, "dev-1").Client.Disconnect(0)
	if _, err := testutil.DialDevice(t, emu.Endpoint, "dev-1"); err == nil {
		t.Error("a second CONNECT of dev-1 at once was accepted")
	}
	testutil.ConnectDevice(t, emu.Endpoint, "dev-2")
}
