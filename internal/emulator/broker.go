package emulator

import (
	"context"
	"log/slog"
	"net"

	"github.com/iotjobs/iotjobs/internal/mochilistener"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// requestHandler is what the broker front needs of the engine.
type requestHandler interface {
	HandlePublish(topic string, payload []byte) (reply Message, ok bool)
}

// Listener ids of the embedded broker, as mochi names its listeners.
const (
	listenerMQTT  = "mqtt"
	listenerMQTTS = "mqtts"
)

// broker is the embedded MQTT broker (mochi) with the engine hooked in.
type broker struct {
	server *mqtt.Server
	log    *slog.Logger
}

// startBroker serves MQTT on the given listeners (either may be nil) and
// takes ownership of them. Every publication of a client is routed as
// usual, and the engine's reply to a request goes to that client alone.
func startBroker(plain, secure net.Listener, engine requestHandler, logger *slog.Logger) (*broker, error) {
	log := logger.With("component", "broker")
	caps := mqtt.NewDefaultServerCapabilities()
	// AWS IoT supports QoS 0 and 1 only; mochi downgrades anything higher.
	caps.MaximumQos = 1
	server := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		// The inline client publishes the engine's notifications.
		InlineClient: true,
		Logger:       slog.New(brokerLog{log.Handler()}),
	})
	if err := server.AddHook(&serviceHook{engine: engine, log: logger}, nil); err != nil {
		return nil, err
	}
	for id, l := range map[string]net.Listener{listenerMQTT: plain, listenerMQTTS: secure} {
		if l == nil {
			continue
		}
		if err := server.AddListener(mochilistener.New(id, l, log)); err != nil {
			return nil, err
		}
	}
	if err := server.Serve(); err != nil {
		return nil, err
	}
	return &broker{server: server, log: logger}, nil
}

// notify routes a notification to the subscribers of its topic, at QoS 1
// for those who subscribed at QoS 1.
func (b *broker) notify(m Message) {
	if err := b.server.Publish(m.Topic, m.Payload, false, 1); err != nil {
		b.log.Warn("notification not published", "topic", m.Topic, "error", err)
	}
}

// close disconnects every client, closes the listeners and waits for the
// client goroutines to end, so no request is in the engine afterwards.
func (b *broker) close() error {
	return b.server.Close()
}

// serviceHook puts the engine behind the broker. It holds no protocol logic:
// the engine decides what is a request and what the reply is.
type serviceHook struct {
	mqtt.HookBase
	engine requestHandler
	log    *slog.Logger
}

func (h *serviceHook) ID() string { return "iotjobs-service" }

func (h *serviceHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublished:
		return true
	}
	return false
}

// OnConnectAuthenticate lets every client in: AWS IoT authenticates by
// client certificate, which the TLS listener checks when a client CA is set.
func (h *serviceHook) OnConnectAuthenticate(*mqtt.Client, packets.Packet) bool { return true }

// OnACLCheck allows every publish and subscribe, $aws/ topics included.
func (h *serviceHook) OnACLCheck(*mqtt.Client, string, bool) bool { return true }

// OnPublished runs after the request was acknowledged and routed to
// subscribers. AWS answers only the requesting client, whether or not it
// subscribed to the reply topic, and the reply never passes through the
// broker; so it is written straight to that client's connection, which
// delivers it exactly once however the client subscribed. It goes at QoS 0:
// with no subscription there is no granted QoS to honour, and a reply lost
// with its connection is lost on AWS too (the device asks again).
func (h *serviceHook) OnPublished(cl *mqtt.Client, pk packets.Packet) {
	if cl.Net.Inline {
		return // the engine's own notifications
	}
	reply, ok := h.engine.HandlePublish(pk.TopicName, pk.Payload)
	if !ok {
		return
	}
	err := cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   reply.Topic,
		Payload:     reply.Payload,
	})
	if err != nil {
		h.log.Debug("reply not delivered", "client", cl.ID, "topic", reply.Topic, "error", err)
	}
}

// brokerLog keeps mochi's warnings and errors. It logs every listener,
// hook, start and stop at Info, which is noise for an emulator user.
type brokerLog struct{ slog.Handler }

func (h brokerLog) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn && h.Handler.Enabled(ctx, level)
}

func (h brokerLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return brokerLog{h.Handler.WithAttrs(attrs)}
}

func (h brokerLog) WithGroup(name string) slog.Handler {
	return brokerLog{h.Handler.WithGroup(name)}
}
