// Package mqtttest runs a real MQTT broker (mochi-mqtt, embedded) on
// 127.0.0.1:0 for tests of the device side, with a scriptable stand-in for
// the Jobs service and a way to play AWS IoT's hang-up on a denied publish.
package mqtttest

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/iotjobs/iotjobs/internal/mochilistener"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Options configure a Broker.
type Options struct {
	// TLS, when set, makes the listener speak TLS only.
	TLS *tls.Config
	// HangUpOn, when set, disconnects a client right after it publishes to
	// a topic for which it returns true, the way AWS IoT answers a publish
	// its policy denies. The message is not delivered.
	HangUpOn func(topic string) bool
	// Respond, when set, answers every request published under
	// $aws/things/+/jobs/: it returns the messages to publish back.
	Respond func(topic string, payload []byte) []Message
	// RefuseSubscribe, when set, refuses the subscriptions to the filters
	// for which it returns true (SUBACK 0x80).
	RefuseSubscribe func(filter string) bool
}

// Message is one MQTT message.
type Message struct {
	Topic   string
	Payload []byte
}

// Broker is a running embedded broker.
type Broker struct {
	// Addr is host:port of the listener.
	Addr string

	server *mqtt.Server
	mu     sync.Mutex
	seen   []Message
}

// Start starts a broker and stops it when the test ends.
func Start(t testing.TB, opts Options) *Broker {
	t.Helper()
	server := mqtt.New(&mqtt.Options{
		InlineClient: true,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := server.AddHook(&aclHook{refuse: opts.RefuseSubscribe}, nil); err != nil {
		t.Fatal(err)
	}
	b := &Broker{server: server}
	if err := server.AddHook(&hangUpHook{broker: b, hangUpOn: opts.HangUpOn}, nil); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.TLS != nil {
		ln = tls.NewListener(ln, opts.TLS)
	}
	// mochi's own listeners race with Server.Close; see mochilistener.
	if err := server.AddListener(mochilistener.New(server, "test", ln, slog.New(slog.DiscardHandler), mochilistener.Options{})); err != nil {
		t.Fatal(err)
	}
	if err := server.Serve(); err != nil {
		t.Fatal(err)
	}
	b.Addr = ln.Addr().String()
	t.Cleanup(func() { _ = server.Close() })
	if opts.Respond != nil {
		err := server.Subscribe("$aws/things/+/jobs/#", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
			if strings.HasSuffix(pk.TopicName, "/accepted") || strings.HasSuffix(pk.TopicName, "/rejected") {
				return // our own answers
			}
			for _, m := range opts.Respond(pk.TopicName, pk.Payload) {
				_ = server.Publish(m.Topic, m.Payload, false, 1)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// Published returns every message clients published, in order.
func (b *Broker) Published() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Message(nil), b.seen...)
}

// Publish sends a message to the broker's subscribers, as the service would.
func (b *Broker) Publish(topic string, payload []byte) error {
	return b.server.Publish(topic, payload, false, 1)
}

// hangUpHook records client publishes and plays AWS IoT's policy hang-up.
type hangUpHook struct {
	mqtt.HookBase
	broker   *Broker
	hangUpOn func(string) bool
}

func (h *hangUpHook) ID() string { return "hang-up" }

func (h *hangUpHook) Provides(b byte) bool { return b == mqtt.OnPublish }

func (h *hangUpHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	h.broker.mu.Lock()
	h.broker.seen = append(h.broker.seen, Message{Topic: pk.TopicName, Payload: append([]byte(nil), pk.Payload...)})
	h.broker.mu.Unlock()
	if h.hangUpOn != nil && h.hangUpOn(pk.TopicName) {
		cl.Stop(errors.New("publish denied by test policy"))
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

// aclHook lets every client in and allows what RefuseSubscribe does not
// refuse (mochi ORs its hooks' answers, so it is the only ACL hook).
type aclHook struct {
	mqtt.HookBase
	refuse func(string) bool
}

func (h *aclHook) ID() string { return "acl" }

func (h *aclHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (h *aclHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

func (h *aclHook) OnACLCheck(_ *mqtt.Client, topic string, write bool) bool {
	return write || h.refuse == nil || !h.refuse(topic)
}
