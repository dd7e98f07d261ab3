package front

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/mochilistener"
	"github.com/iotjobs/iotjobs/internal/policy"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Listener ids of the embedded broker, as mochi names its listeners.
const (
	listenerMQTT  = "mqtt"
	listenerMQTTS = "mqtts"
)

// MaxPacketSize bounds an MQTT packet the embedded broker reads: AWS IoT's
// 128 KB payload, plus a topic of up to 256 bytes and the header. A larger
// one closes the connection before anything is allocated for it.
const MaxPacketSize = 128*1024 + 512

// clientWritesPending bounds the publications queued for one client.
const clientWritesPending = 256

// Broker is the embedded MQTT broker (mochi) with the engine hooked in.
type Broker struct {
	server *mqtt.Server
	log    *slog.Logger
	// ctx is the handlers' context; Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
}

// StartBroker serves MQTT on the given listeners (either may be nil) and
// takes ownership of them. Every publication of a client is routed as
// usual, and the engine's reply to a request goes to that client alone.
func StartBroker(plain, secure net.Listener, opts Options) (*Broker, error) {
	var pol *policies
	if len(opts.Policies) > 0 {
		region, account, ok := opts.Policies.Account()
		if !ok {
			region, account = iotapi.Region, iotapi.AccountID
		}
		pol = &policies{set: opts.Policies, region: region, account: account, log: optsLogger(opts).With("component", "policy")}
		statements := 0
		for _, doc := range opts.Policies {
			statements += len(doc.Statements)
		}
		pol.log.Info("enforcing IoT policies", "documents", len(opts.Policies), "statements", statements, "region", region, "account", account)
	}
	svc := newService(opts, pol.deliver(deliverToClient))
	log := svc.log.With("component", "broker")
	caps := mqtt.NewDefaultServerCapabilities()
	// AWS IoT supports QoS 0 and 1 only; mochi downgrades anything higher.
	// A lenient broker is a general one.
	caps.MaximumQos = 1
	if opts.Lenient {
		caps.MaximumQos = 2
	}
	// mochi allocates a packet's whole length before reading it: without a
	// cap, five bytes announcing 256 MB cost 256 MB. AWS IoT takes payloads
	// up to 128 KB; the cap leaves room for the topic and the header.
	caps.MaximumPacketSize = MaxPacketSize
	// mochi gives every client an outbound queue of this many slots up
	// front (8192 by default: 64 KB a client); a fleet of idle devices
	// needs little, and a client whose queue is full misses publications
	// rather than hold the broker up.
	caps.MaximumClientWritesPending = clientWritesPending
	server := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		// The inline client publishes the engine's notifications.
		InlineClient: true,
		// Requests are small; a longer packet is read in more calls.
		ClientNetReadBufferSize: 1024,
		Logger:                  slog.New(brokerLog{log.Handler()}),
	})
	b := &Broker{server: server, log: svc.log}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	ids := newClientIDs(server)
	auth := &authHook{policies: pol, lenient: opts.Lenient}
	hooks := []mqtt.Hook{&limitsHook{ids: ids, lenient: opts.Lenient}, auth, &serviceHook{service: svc, ctx: b.ctx}}
	if !opts.Lenient {
		hooks = append([]mqtt.Hook{&rulesHook{log: svc.log.With("component", "rules")}}, hooks...)
	}
	if opts.PublishesPerSecond > 0 || opts.ConnectsPerSecond > 0 {
		hooks = append([]mqtt.Hook{newThrottleHook(opts.PublishesPerSecond, opts.ConnectsPerSecond, svc.log.With("component", "throttle"))}, hooks...)
	}
	for _, hook := range hooks {
		if err := server.AddHook(hook, nil); err != nil {
			b.cancel()
			return nil, err
		}
	}
	for id, l := range map[string]net.Listener{listenerMQTT: plain, listenerMQTTS: secure} {
		if l == nil {
			continue
		}
		limits := mochilistener.Options{ConnectTimeout: opts.ConnectTimeout, MaxConnections: opts.MaxConnections, Ended: ids.ended}
		if err := server.AddListener(mochilistener.New(server, id, l, log, limits)); err != nil {
			b.cancel()
			return nil, err
		}
	}
	if err := server.Serve(); err != nil {
		b.cancel()
		return nil, err
	}
	return b, nil
}

// Notify routes a notification to the subscribers of its topic, at QoS 1
// for those who subscribed at QoS 1.
func (b *Broker) Notify(m engine.Message) {
	if b.ctx.Err() != nil {
		return // closed: its clients are gone
	}
	if err := b.server.Publish(m.Topic, m.Payload, false, 1); err != nil {
		b.log.Warn("notification not published", "topic", m.Topic, "error", err)
	}
}

// Disconnect closes the connection of the client with clientID, as an
// administrative action.
func (b *Broker) Disconnect(clientID string) error {
	cl, ok := b.server.Clients.Get(clientID)
	if !ok || cl.Closed() {
		return fmt.Errorf("no client is connected with client id %q", clientID)
	}
	// mochi returns the reason code itself as the error of a disconnect
	// made for a reason; the connection is closed either way.
	_ = b.server.DisconnectClient(cl, packets.ErrAdministrativeAction)
	return nil
}

// Close disconnects every client, closes the listeners and waits for the
// client goroutines to end, so no request is in the engine afterwards.
func (b *Broker) Close() error {
	b.cancel()
	return b.server.Close()
}

// The keep-alive AWS IoT grants: a client's request below 30 s counts as 30,
// above 1200 s or 0 (none) as 1200.
const (
	minKeepAlive = 30
	maxKeepAlive = 1200
)

// limitsHook applies AWS IoT's connection rules; it comes first.
type limitsHook struct {
	mqtt.HookBase
	ids *clientIDs
	// lenient: the keep-alive is left as the client asked.
	lenient bool
}

func (h *limitsHook) ID() string { return "iotjobs-limits" }

func (h *limitsHook) Provides(b byte) bool { return b == mqtt.OnConnect }

// OnConnect makes the client id this connection's alone (see clientIDs),
// then clamps the keep-alive before mochi arms the connection's read
// deadline (1.5 keep-alives) from it.
func (h *limitsHook) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	h.ids.claim(cl)
	if h.lenient {
		return nil
	}
	ka := cl.State.Keepalive
	if ka == 0 || ka > maxKeepAlive {
		ka = maxKeepAlive
	}
	cl.State.Keepalive = max(ka, minKeepAlive)
	return nil
}

// maxSubscriptions is AWS IoT's limit of subscriptions per connection.
const maxSubscriptions = 50

// authHook is the broker's one authorisation hook. mochi lets a request
// through when any hook allows it, so every refusal must come from here.
// It applies AWS IoT's limit of subscriptions per connection and, when
// policies are loaded, the policies (see policies); without them every
// CONNECT is let in: AWS IoT authenticates by client certificate, which the
// TLS listener checks when a client CA is set.
type authHook struct {
	mqtt.HookBase
	policies *policies
	subs     subscriptions
	// lenient: no bound on the subscriptions of a connection.
	lenient bool
}

func (h *authHook) ID() string { return "iotjobs-auth" }

func (h *authHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnSubscribe, mqtt.OnDisconnect:
		return true
	}
	return false
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	return h.policies.allowed(cl, policy.Connect, "client", cl.ID)
}

// OnSubscribe decides each filter of a SUBSCRIBE: a filter the policies
// deny closes the connection and nothing is subscribed; past
// maxSubscriptions a filter gets the failure code in the SUBACK.
func (h *authHook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	decisions := make(map[string]bool, len(pk.Filters))
	held := cl.State.Subscriptions.Len()
	for _, sub := range pk.Filters {
		if !h.policies.allowed(cl, policy.Subscribe, "topicfilter", sub.Filter) {
			h.subs.forget(cl)
			refuse(cl)
			return emptied(pk)
		}
		if _, seen := decisions[sub.Filter]; seen {
			continue
		}
		if _, ok := cl.State.Subscriptions.Get(sub.Filter); ok {
			decisions[sub.Filter] = true // a re-subscription
			continue
		}
		decisions[sub.Filter] = h.lenient || held < maxSubscriptions
		if decisions[sub.Filter] {
			held++
		}
	}
	h.subs.decide(cl, decisions)
	return pk
}

// OnACLCheck is mochi's one question for a PUBLISH (write), each filter of
// a SUBSCRIBE and each delivery (read): the SUBSCRIBE's filters were
// decided in OnSubscribe, and a delivery is an iot:Receive.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		if !h.policies.allowed(cl, policy.Publish, "topic", topic) {
			refuse(cl)
			return false
		}
		return true
	}
	if allowed, ok := h.subs.take(cl, topic); ok {
		return allowed
	}
	return h.policies.allowed(cl, policy.Receive, "topic", topic)
}

func (h *authHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) { h.subs.forget(cl) }

// serviceHook puts the engine behind the broker. It holds no protocol logic:
// the engine decides what is a request and what the reply is.
type serviceHook struct {
	mqtt.HookBase
	service service
	ctx     context.Context
}

func (h *serviceHook) ID() string { return "iotjobs-service" }

func (h *serviceHook) Provides(b byte) bool { return b == mqtt.OnPublished }

// OnPublished runs after the request was acknowledged and routed to
// subscribers, on the client's read goroutine.
func (h *serviceHook) OnPublished(cl *mqtt.Client, pk packets.Packet) {
	if cl.Net.Inline {
		return // the engine's own notifications
	}
	ctx := context.WithValue(h.ctx, clientKey{}, cl)
	h.service.serve(ctx, engine.NewRequest(cl.ID, pk.TopicName, pk.Payload))
}

// clientKey carries the requesting client to deliverToClient.
type clientKey struct{}

// deliverToClient is the embedded broker's delivery. AWS answers only the
// requesting client, whether or not it subscribed to the reply topic, and
// the reply never passes through the broker; so it is written straight to
// that client's connection, which delivers it exactly once however the
// client subscribed. It goes at QoS 0: with no subscription there is no
// granted QoS to honour, and a reply lost with its connection is lost on
// AWS too (the device asks again).
func deliverToClient(ctx context.Context, _ engine.Request, reply engine.Message) error {
	cl, ok := ctx.Value(clientKey{}).(*mqtt.Client)
	if !ok {
		return errors.New("no client to deliver to")
	}
	return cl.WritePacket(packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish},
		TopicName:   reply.Topic,
		Payload:     reply.Payload,
	})
}

// brokerLog keeps mochi's warnings and errors. It logs every listener,
// hook, start and stop at Info, which is noise for an emulator user.
type brokerLog struct{ slog.Handler }

func (h brokerLog) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= slog.LevelWarn && h.Handler.Enabled(ctx, level)
}

// Handle drops what mochi says of a packet it could not answer because
// the connection was closed under it (a policy denial closes it mid-packet:
// the denial is logged already), and the packet dumps of its other
// warnings, hundreds of characters of empty fields.
func (h brokerLog) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	closed := false
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case a.Key == "pk":
		case a.Key == "error" && strings.Contains(a.Value.String(), "connection not open"):
			closed = true
		default:
			out.AddAttrs(a)
		}
		return true
	})
	if closed {
		return nil
	}
	return h.Handler.Handle(ctx, out)
}

func (h brokerLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return brokerLog{h.Handler.WithAttrs(attrs)}
}

func (h brokerLog) WithGroup(name string) slog.Handler {
	return brokerLog{h.Handler.WithGroup(name)}
}
