package front_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// rawPublish is an MQTT 3.1.1 PUBLISH (packet id 1 at QoS > 0).
func rawPublish(topic string, payload []byte, qos byte, retain bool) []byte {
	body := []byte{byte(len(topic) >> 8), byte(len(topic))}
	body = append(body, topic...)
	if qos > 0 {
		body = append(body, 0, 1)
	}
	body = append(body, payload...)
	header := 0x30 | qos<<1
	if retain {
		header |= 1
	}
	return append(append([]byte{header}, remainingLength(len(body))...), body...)
}

// remainingLength is MQTT's variable-length encoding of n.
func remainingLength(n int) []byte {
	var out []byte
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		out = append(out, b)
		if n == 0 {
			return out
		}
	}
}

// startRulesEmulator starts an emulator (lenient or not) with its log
// collected.
func startRulesEmulator(t *testing.T, lenient bool) (*testutil.Emulator, *logBuffer) {
	logs := &logBuffer{}
	emu := testutil.StartEmulator(t,
		testutil.WithConfig(func(c *emulator.Config) { c.Lenient = lenient }),
		testutil.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	return emu, logs
}

// TestBrokerRules: each of AWS IoT's rules closes the connection that
// breaks it, and the log says which; with Lenient none does.
func TestBrokerRules(t *testing.T) {
	long := "t/" + strings.Repeat("x", 255)
	filters := make([]string, 9)
	for i := range filters {
		filters[i] = "f/" + string(rune('a'+i))
	}
	for _, tt := range []struct {
		name   string
		packet []byte
		log    string
	}{
		{"a reply topic", rawPublish("$aws/things/thing-1/jobs/get/accepted", []byte(`{}`), 1, false),
			"a PUBLISH on $aws/things/thing-1/jobs/get/accepted, where only the Jobs service publishes"},
		{"notify-next", rawPublish("$aws/things/thing-1/jobs/notify-next", []byte(`{}`), 0, false),
			"a PUBLISH on $aws/things/thing-1/jobs/notify-next, where only the Jobs service publishes"},
		{"a Jobs event topic", rawPublish("$aws/events/jobExecution/job-1/succeeded", []byte(`{}`), 1, false),
			"a PUBLISH on $aws/events/jobExecution/job-1/succeeded, an event topic: clients may only subscribe to them"},
		{"RETAIN on $aws", rawPublish("$aws/things/thing-1/jobs/get", []byte(`{}`), 1, true),
			"RETAIN on the reserved topic $aws/things/thing-1/jobs/get"},
		{"a payload over 128 KB", rawPublish("big", bytes.Repeat([]byte("x"), 128*1024+1), 1, false),
			"a payload of 131073 bytes on big, over AWS IoT's 131072"},
		{"a topic over 256 bytes", rawPublish(long, nil, 0, false), "a topic of 257 bytes, over AWS IoT's 256"},
		{"eight slashes", rawPublish("a/b/c/d/e/f/g/h/i", nil, 0, false), "a topic with 8 slashes, over AWS IoT's 7: a/b/c/d/e/f/g/h/i"},
		{"nine filters", rawSubscribe(filters...), "a SUBSCRIBE with 9 filters, over AWS IoT's 8"},
		{"a deep filter", rawSubscribe("a/b/c/d/e/f/g/h/#"), "a filter with 8 slashes, over AWS IoT's 7: a/b/c/d/e/f/g/h/#"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			emu, logs := startRulesEmulator(t, false)
			c := dialRaw(t, emu.MQTTAddr(), "rule-breaker", 60)
			if _, err := c.Write(tt.packet); err != nil {
				t.Fatal(err)
			}
			if !closedWithin(c, testutil.DeviceWait) {
				t.Fatal("the connection is still open")
			}
			logs.waitFor(t, `msg="connection closed: `+tt.log+`" component=rules client=rule-breaker`)

			lenient, _ := startRulesEmulator(t, true)
			c = dialRaw(t, lenient.MQTTAddr(), "rule-breaker", 60)
			if _, err := c.Write(tt.packet); err != nil {
				t.Fatal(err)
			}
			if closedWithin(c, 300*time.Millisecond) {
				t.Error("closed by the lenient emulator")
			}
		})
	}
}

// TestSpoofedNotificationNeverDelivered: a client cannot make another
// believe the service spoke: its PUBLISH on notify-next closes its own
// connection and reaches no subscriber.
func TestSpoofedNotificationNeverDelivered(t *testing.T) {
	emu, _ := startRulesEmulator(t, false)
	watcher := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	watcher.Subscribe("$aws/things/thing-1/jobs/notify-next")
	spoofer := dialRaw(t, emu.MQTTAddr(), "spoofer", 60)
	if _, err := spoofer.Write(rawPublish("$aws/things/thing-1/jobs/notify-next", []byte(`{"execution":{"jobId":"fake"}}`), 0, false)); err != nil {
		t.Fatal(err)
	}
	watcher.Quiet(300 * time.Millisecond)
}

// TestQoS2PublishIsNotAcknowledged: AWS IoT sends no PUBACK (nor PUBREC)
// for a QoS 2 PUBLISH; the emulator neither, serves no request from it,
// and keeps the connection.
func TestQoS2PublishIsNotAcknowledged(t *testing.T) {
	emu, logs := startRulesEmulator(t, false)
	c := dialRaw(t, emu.MQTTAddr(), "thing-1", 60)
	if _, err := c.Write(rawPublish("$aws/things/thing-1/jobs/get", []byte(`{"clientToken":"q2"}`), 2, false)); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, `msg="QoS 2 PUBLISH dropped without PUBREC: AWS IoT supports QoS 0 and 1" component=rules client=thing-1 topic=$aws/things/thing-1/jobs/get`)
	// Next comes the PINGRESP, not a PUBREC nor the get-pending reply.
	if _, err := c.Write([]byte{0xc0, 0}); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2)
	_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
	if _, err := io.ReadFull(c, got); err != nil || got[0] != 0xd0 {
		t.Fatalf("after a QoS 2 PUBLISH: % x, %v", got, err)
	}
}

// TestLenientTakesQoS2: with Lenient the embedded broker is a general one,
// QoS 2 included: a QoS 2 PUBLISH gets its PUBREC.
func TestLenientTakesQoS2(t *testing.T) {
	emu, _ := startRulesEmulator(t, true)
	c := dialRaw(t, emu.MQTTAddr(), "general", 60)
	if _, err := c.Write(rawPublish("t/x", []byte(`hello`), 2, false)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
	if _, err := io.ReadFull(c, got); err != nil || got[0] != 0x50 {
		t.Fatalf("after a QoS 2 PUBLISH to the lenient broker: % x, %v", got, err)
	}
}

// TestPacketOverTheMaximumIsLogged: a packet over the broker's maximum size
// closes the connection, lenient or not, and the log says why at WARN,
// where an operator looks, not as one more connection ended.
func TestPacketOverTheMaximumIsLogged(t *testing.T) {
	emu, logs := startRulesEmulator(t, true)
	c := dialRaw(t, emu.MQTTAddr(), "big-sender", 60)
	if _, err := c.Write(rawPublish("big", bytes.Repeat([]byte("x"), 200*1024), 0, false)); err != nil {
		t.Fatal(err)
	}
	// Closed with the rest of the packet unread: a reset, or the end.
	_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
	var ne net.Error
	if _, err := io.Copy(io.Discard, c); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection is still open")
	}
	logs.waitFor(t, `level=WARN msg="connection closed: a packet over the broker's maximum size"`)
}
