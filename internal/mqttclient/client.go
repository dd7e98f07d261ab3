package mqttclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

const (
	// keepAlive is well inside AWS IoT's accepted 30-1200 s.
	keepAlive = 60 * time.Second
	// defaultConnectTimeout bounds a connection attempt when the context
	// has no deadline (reconnects of a long-lived client).
	defaultConnectTimeout = 30 * time.Second
	// closeQuiesce is how long Close lets in-flight work finish.
	closeQuiesce   = 250 // milliseconds
	qosAtLeastOnce = 1
	// hangUpWindow is how soon after a packet a disconnection is taken as
	// the server's answer to it.
	hangUpWindow = 2 * time.Second
)

// Config describes one MQTT client connection.
type Config struct {
	Endpoint Endpoint
	ClientID string
	// TLS is used on TLS endpoints. Nil means LoadTLSConfig(Endpoint,
	// TLSFiles{}): system roots, SNI and ALPN from the endpoint.
	TLS *tls.Config
	// Trace, when set, receives one line per connect, subscribe, publish
	// and received message (topic and payload); never keys or certificates.
	Trace func(format string, args ...any)
	// AutoReconnect keeps a long-lived client connected; the filters given
	// to Subscribe are subscribed again after each reconnect. One-shot
	// requests leave it off so that a lost connection is reported.
	AutoReconnect bool
	// OnConnect is called after every successful (re)connect, after the
	// re-subscription. It runs on its own goroutine.
	OnConnect func()
	// OnConnectionLost is called when an established connection drops.
	OnConnectionLost func(error)
	// IgnoreRetained drops retained messages: a service must not act again
	// on a request someone published with RETAIN.
	IgnoreRetained bool
	// RepliesUnsubscribed: the service delivers replies to the requester
	// without a subscription (AWS IoT does), so Request subscribes to none.
	// On AWS IoT this saves the subscriptions of a fan-out (50 per
	// connection) and the policy they would need.
	RepliesUnsubscribed bool

	// onReconnect is DialWatch's: called after a reconnect (never the first
	// connect) once the filters are subscribed again, before OnConnect.
	onReconnect func()
	// onRetry is DialWatch's: a reconnect attempt failed, and next is the
	// number of the one to come (from 2). A failed dial is told at once,
	// with why; an attempt paho failed after the dial, when the next one
	// starts, with why nil.
	onRetry func(next int, why error)
	// onLost is DialWatch's: called when the connection drops, with the
	// wait before the first reconnect attempt (0: at once).
	onLost func(err error, retryIn time.Duration)
	// inOrder is DialWatch's: handlers run one after the other on paho's
	// router goroutine, in the broker's order, instead of each on its own
	// goroutine.
	inOrder bool
}

// Reply is the service's answer to a Request.
type Reply struct {
	Topic     string // the .../accepted or .../rejected topic it came on
	Accepted  bool
	Payload   []byte
	RoundTrip time.Duration // from our PUBLISH to the reply
}

// Conn is a connected MQTT client. Its methods are safe for concurrent use.
type Conn struct {
	cfg    Config
	client paho.Client
	tls    *tls.Config

	mu         sync.Mutex
	dialCtx    context.Context             // the context of the first connection, nil after Dial
	raw        net.Conn                    // the network connection of the attempt in progress
	limited    *limitedConn                // raw as paho reads it
	dialErr    error                       // why our dialer failed, before paho wraps it
	routes     map[uint64]route            // those with a wildcard filter
	exact      map[string]map[uint64]route // the others, by topic: a reply finds its request at once
	exactOf    map[uint64][]string         // the topics of each of those
	nextRoute  uint64
	subscribed map[string]bool // filters the broker holds for this session
	permanent  []string        // filters of Subscribe, renewed after a reconnect
	down       chan struct{}   // closed when the current connection is lost
	downErr    error
	recent     []sentPacket // what we sent last, to explain a hang-up

	// Reconnect pacing (AutoReconnect): see onConnectionLost.
	connectedAt time.Time
	hangUps     int           // server hang-ups in a row, each soon after connecting
	attempts    int           // reconnect attempts since the connection dropped
	retryIn     time.Duration // the wait before the next reconnect attempt
	failureTold bool          // the current attempt's failure was told (onRetry)
	closing     chan struct{} // closed by Close
	closeOnce   sync.Once
}

type route struct {
	filters []string
	fn      func(topic string, payload []byte)
}

// Dial connects with MQTT 3.1.1 and a clean session. ctx bounds the
// connection attempt; a deadline in it becomes the connect timeout.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("mqttclient: empty client id")
	}
	if cfg.Trace == nil {
		cfg.Trace = func(string, ...any) {}
	}
	c := &Conn{
		cfg:        cfg,
		dialCtx:    ctx,
		routes:     map[uint64]route{},
		exact:      map[string]map[uint64]route{},
		exactOf:    map[uint64][]string{},
		subscribed: map[string]bool{},
		down:       make(chan struct{}),
		tls:        cfg.TLS,
		closing:    make(chan struct{}),
	}
	if cfg.Endpoint.TLS && c.tls == nil {
		var err error
		if c.tls, err = LoadTLSConfig(cfg.Endpoint, TLSFiles{}); err != nil {
			return nil, err
		}
	}
	connectTimeout := defaultConnectTimeout
	if deadline, ok := ctx.Deadline(); ok {
		// A second past ctx's deadline, so that ctx decides: a caller can
		// then tell its own deadline (context.Cause) from paho's.
		connectTimeout = max(time.Until(deadline), time.Millisecond) + time.Second
	}
	opts := paho.NewClientOptions().
		// The scheme is irrelevant: openConnection dials plain or TLS itself.
		AddBroker("tcp://" + cfg.Endpoint.Address()).
		SetClientID(cfg.ClientID).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(cfg.AutoReconnect).
		SetConnectRetry(false).
		SetMaxReconnectInterval(cfg.Endpoint.RetryInterval()).
		SetKeepAlive(keepAlive).
		SetPingTimeout(10 * time.Second).
		SetConnectTimeout(connectTimeout).
		SetWriteTimeout(10 * time.Second).
		// AWS IoT delivers accepted/rejected replies to the requester even
		// without a subscription; they must find a handler from the first
		// packet on.
		SetDefaultPublishHandler(c.dispatch).
		SetOrderMatters(cfg.inOrder).
		SetCustomOpenConnectionFn(c.openConnection).
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(c.onConnectionLost).
		SetReconnectingHandler(c.onReconnecting)
	c.client = paho.NewClient(opts)

	start := time.Now()
	cfg.Trace("* connecting to %s as client id %q", cfg.Endpoint, cfg.ClientID)
	token := c.client.Connect()
	select {
	case <-token.Done():
	case <-ctx.Done():
		c.abortAttempt(token)
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, ctx.Err()
		}
		waited := time.Since(start)
		if deadline, ok := ctx.Deadline(); ok {
			waited = deadline.Sub(start) // the bound, not the moment it was noticed
		}
		return nil, &ConnectionError{Op: "connect", Err: fmt.Errorf("%s did not complete the connection", cfg.Endpoint.Address()), Within: waited,
			Hint: "check the endpoint and that nothing (a firewall, a TLS-only port) swallows the connection; raise --timeout on a slow network"}
	}
	c.mu.Lock()
	c.dialCtx = nil
	dialErr := c.dialErr
	c.mu.Unlock()
	if err := token.Error(); err != nil {
		if dialErr != nil && errors.Is(dialErr, context.Canceled) {
			return nil, dialErr
		}
		return nil, classifyConnect(cfg.Endpoint, cfg.ClientID, dialErr, err)
	}
	cfg.Trace("* connected in %s", time.Since(start).Round(time.Microsecond))
	return c, nil
}

// abortAttempt closes the socket of a connection attempt the context gave
// up on, so paho's CONNACK read ends now, and waits briefly for it.
func (c *Conn) abortAttempt(token paho.Token) {
	c.mu.Lock()
	if c.raw != nil {
		c.raw.Close()
	}
	c.mu.Unlock()
	token.WaitTimeout(time.Second)
	c.client.Disconnect(0)
}

// openConnection dials TCP and, on TLS endpoints, completes the handshake,
// keeping the original error so that Dial can explain it.
func (c *Conn) openConnection(_ *url.URL, _ paho.ClientOptions) (net.Conn, error) {
	c.mu.Lock()
	ctx := c.dialCtx
	c.dialErr = nil
	c.mu.Unlock()
	reconnecting := ctx == nil
	if reconnecting {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), defaultConnectTimeout)
		defer cancel()
	}
	conn, err := c.dial(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dialErr = err
	c.raw = conn
	if err != nil {
		if reconnecting && c.cfg.onRetry != nil {
			// Said now, not when paho's backoff lets the next attempt
			// start: a person watching learns at once, and how long.
			c.failureTold = true
			next := c.attempts + 1
			c.mu.Unlock()
			c.cfg.onRetry(next, err)
			c.mu.Lock()
		}
		return nil, err
	}
	c.limited = &limitedConn{Conn: conn, max: MaxPacketSize}
	return c.limited, nil
}

func (c *Conn) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Endpoint.Address())
	if err != nil || !c.cfg.Endpoint.TLS {
		return conn, err
	}
	tlsConn := tls.Client(conn, c.tls)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	st := tlsConn.ConnectionState()
	c.cfg.Trace("* TLS %s, ALPN %q, server certificate for %q", tls.VersionName(st.Version), st.NegotiatedProtocol, st.PeerCertificates[0].Subject.CommonName)
	return tlsConn, nil
}

func (c *Conn) onConnect(paho.Client) {
	c.mu.Lock()
	c.connectedAt = time.Now()
	reconnect := false
	select {
	case <-c.down:
		reconnect = true
		c.down = make(chan struct{})
		c.downErr = nil
	default:
	}
	filters := append([]string(nil), c.permanent...)
	c.mu.Unlock()
	if reconnect {
		c.cfg.Trace("* reconnected")
		if len(filters) > 0 {
			ctx, cancel := context.WithTimeout(context.Background(), defaultConnectTimeout)
			if err := c.subscribe(ctx, filters); err != nil {
				c.cfg.Trace("* re-subscribing after the reconnect failed: %v", err)
			}
			cancel()
		}
		if c.cfg.onReconnect != nil {
			c.cfg.onReconnect()
		}
	}
	if c.cfg.OnConnect != nil {
		c.cfg.OnConnect()
	}
}

// A hang-up soon after connecting is what a takeover looks like: another
// connection with our client id (AWS IoT keeps one per id). Reconnecting at
// once would knock that one off in turn, and the two would take turns for
// ever; so the first reconnect after such a hang-up waits, 2 s doubling with
// each one in a row, at most 30 s.
const (
	takeoverPause    = 2 * time.Second
	maxTakeoverPause = 30 * time.Second
	// shortLived: a connection that ended sooner counts towards a run of
	// hang-ups.
	shortLived = time.Minute
)

func (c *Conn) onConnectionLost(_ paho.Client, err error) {
	c.mu.Lock()
	select {
	case <-c.down:
	default:
		c.downErr = err
		close(c.down)
	}
	c.retryIn = 0
	c.attempts = 0
	if c.cfg.AutoReconnect && IsHangUp(err) {
		if time.Since(c.connectedAt) < shortLived {
			c.hangUps++
		} else {
			c.hangUps = 1
		}
		c.retryIn = min(takeoverPause<<(c.hangUps-1), maxTakeoverPause)
	}
	retryIn := c.retryIn
	// A clean session forgets our subscriptions with the connection.
	c.subscribed = map[string]bool{}
	c.mu.Unlock()
	c.cfg.Trace("* connection lost: %v", err)
	if c.cfg.onLost != nil {
		c.cfg.onLost(err, retryIn)
	}
	if c.cfg.OnConnectionLost != nil {
		c.cfg.OnConnectionLost(err)
	}
}

// lossHandlerWait bounds how long a first reconnect attempt waits for
// onConnectionLost, which paho runs at the same moment.
const lossHandlerWait = time.Second

// onReconnecting runs on paho's reconnect goroutine before each attempt;
// the first one after a hang-up waits as onConnectionLost decided (paho
// paces the attempts that fail).
func (c *Conn) onReconnecting(paho.Client, *paho.ClientOptions) {
	// paho starts its reconnect loop and our loss handler on two
	// goroutines at once (client.go, internalConnLost): the first attempt
	// waits for the handler, which decides its pause and resets the count.
	c.mu.Lock()
	down := c.down
	c.mu.Unlock()
	select {
	case <-down:
	case <-time.After(lossHandlerWait):
	case <-c.closing:
	}
	c.mu.Lock()
	wait := c.retryIn
	c.retryIn = 0
	c.attempts++
	attempt := c.attempts
	told := c.failureTold
	c.failureTold = false
	c.mu.Unlock()
	if attempt > 1 {
		c.cfg.Trace("* reconnect attempt %d", attempt)
		if c.cfg.onRetry != nil && !told {
			c.cfg.onRetry(attempt, nil)
		}
	}
	if wait <= 0 {
		return
	}
	c.cfg.Trace("* reconnecting in %s", wait)
	select {
	case <-time.After(wait):
	case <-c.closing:
	}
}

// IsHangUp reports a connection the server closed (EOF, reset): on AWS IoT a
// takeover by another connection with the same client id, or a policy
// denial; elsewhere a broker restart too.
func IsHangUp(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// dispatch hands a received message to every route whose filter matches.
// It runs on paho's goroutine; route functions must not block.
func (c *Conn) dispatch(_ paho.Client, msg paho.Message) {
	topic, payload := msg.Topic(), msg.Payload()
	if c.cfg.IgnoreRetained && msg.Retained() {
		c.cfg.Trace("< %s (retained: ignored)", topic)
		return
	}
	c.cfg.Trace("< %s %s", topic, payload)
	c.mu.Lock()
	var fns []func(string, []byte)
	for _, r := range c.exact[topic] {
		fns = append(fns, r.fn)
	}
	for _, r := range c.routes {
		for _, f := range r.filters {
			if MatchTopic(f, topic) {
				fns = append(fns, r.fn)
				break
			}
		}
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(topic, payload)
	}
}

func (c *Conn) addRoute(filters []string, fn func(string, []byte)) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextRoute++
	r := route{filters: filters, fn: fn}
	if slices.ContainsFunc(filters, hasWildcard) {
		c.routes[c.nextRoute] = r
		return c.nextRoute
	}
	for _, f := range filters {
		if c.exact[f] == nil {
			c.exact[f] = map[uint64]route{}
		}
		c.exact[f][c.nextRoute] = r
	}
	c.exactOf[c.nextRoute] = filters
	return c.nextRoute
}

func (c *Conn) removeRoute(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.routes, id)
	for _, f := range c.exactOf[id] {
		delete(c.exact[f], id)
		if len(c.exact[f]) == 0 {
			delete(c.exact, f)
		}
	}
	delete(c.exactOf, id)
}

func hasWildcard(filter string) bool { return strings.ContainsAny(filter, "+#") }

// connection returns the channel closed when the current connection drops.
func (c *Conn) connection() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.down
}

// sentPacket is a SUBSCRIBE or PUBLISH we sent, and its filters or topic.
type sentPacket struct {
	kind  string // "SUBSCRIBE" or "PUBLISH"
	names []string
	at    time.Time
}

func (p sentPacket) String() string { return p.kind + " to " + strings.Join(p.names, ", ") }

// permissions are what AWS IoT checks of p: iot:Subscribe on each filter,
// or iot:Publish on the topic.
func (p sentPacket) permissions() []string {
	var list []string
	for _, name := range p.names {
		if p.kind == "SUBSCRIBE" {
			list = append(list, "iot:Subscribe on topicfilter/"+name)
		} else {
			list = append(list, "iot:Publish on topic/"+name)
		}
	}
	return list
}

// recentSends is how many of the last packets sent are kept.
const recentSends = 4

func (c *Conn) sent(kind string, names ...string) {
	c.mu.Lock()
	c.recent = append(c.recent, sentPacket{kind: kind, names: names, at: time.Now()})
	if len(c.recent) > recentSends {
		c.recent = c.recent[1:]
	}
	c.mu.Unlock()
}

// Subscribe subscribes to all filters in one SUBSCRIBE at QoS 1 and calls
// handler for every message that matches one of them, including messages
// the server sends without a subscription. handler must not block. With
// AutoReconnect the filters are subscribed again after a reconnect.
func (c *Conn) Subscribe(ctx context.Context, filters []string, handler func(topic string, payload []byte)) error {
	if len(filters) == 0 {
		return errors.New("mqttclient: Subscribe needs at least one filter")
	}
	id := c.addRoute(filters, handler)
	if err := c.subscribe(ctx, filters); err != nil {
		c.removeRoute(id)
		return err
	}
	c.mu.Lock()
	c.permanent = append(c.permanent, filters...)
	c.mu.Unlock()
	return nil
}

// MaxFiltersPerSubscribe is AWS IoT's limit of filters in one SUBSCRIBE;
// a client that sends more is disconnected. Longer lists go in several.
const MaxFiltersPerSubscribe = 8

func (c *Conn) subscribe(ctx context.Context, filters []string) error {
	for chunk := range slices.Chunk(filters, MaxFiltersPerSubscribe) {
		down := c.connection()
		sub := c.startSubscribe(chunk, nil)
		if err := c.await(ctx, sub, down, "subscribe"); err != nil {
			return err
		}
		if err := c.noteSubscribed(chunk, sub); err != nil {
			return err
		}
	}
	return nil
}

// SubscribeReplies subscribes to filters (wildcards, typically) that cover
// the reply topics of many requests, so that Request subscribes to nothing
// more; the replies go to the requests awaiting them.
func (c *Conn) SubscribeReplies(ctx context.Context, filters []string) error {
	return c.subscribe(ctx, filters)
}

// coveredLocked reports whether the broker already sends us replies on
// topic: no subscription is needed, or one held matches it. c.mu is held.
func (c *Conn) coveredLocked(topic string) bool {
	if c.cfg.RepliesUnsubscribed || c.subscribed[topic] {
		return true
	}
	for f := range c.subscribed {
		if MatchTopic(f, topic) {
			return true
		}
	}
	return false
}

// sending is a SUBSCRIBE or PUBLISH handed to paho on a goroutine of its
// own. paho's SubscribeMultiple and Publish pass the packet to the
// connection's writer and, when the connection drops between their check
// that it is up and the handover (a policy denial closes it right after the
// SUBSCRIBE that comes just before a request's PUBLISH), or while the
// writer is stuck on a full socket, they block for the whole write timeout
// before failing: a caller blocked in them would not see the loss it
// watches for, and would report it late or as a timeout.
type sending struct {
	handed chan struct{} // paho's call returned: token is set
	done   chan struct{} // and the token completed
	token  paho.Token
}

// send runs call (paho's) on its own goroutine, after the call of prev
// returned if prev is not nil, so that packets leave in the order sent.
func send(prev *sending, call func() paho.Token) *sending {
	s := &sending{handed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		if prev != nil {
			<-prev.handed
		}
		s.token = call()
		close(s.handed)
		<-s.token.Done()
		close(s.done)
	}()
	return s
}

// Done is closed when the packet was acknowledged or failed.
func (s *sending) Done() <-chan struct{} { return s.done }

// Error is the failure, once Done is closed.
func (s *sending) Error() error { return s.token.Error() }

// startSubscribe sends a SUBSCRIBE to filters, after prev's packet if prev
// is not nil, without waiting for its SUBACK.
func (c *Conn) startSubscribe(filters []string, prev *sending) *sending {
	what := "SUBSCRIBE to " + strings.Join(filters, ", ")
	c.cfg.Trace("> %s", what)
	req := make(map[string]byte, len(filters))
	for _, f := range filters {
		req[f] = qosAtLeastOnce
	}
	c.sent("SUBSCRIBE", filters...)
	return send(prev, func() paho.Token { return c.client.SubscribeMultiple(req, nil) })
}

// noteSubscribed reads the SUBACK of a completed SUBSCRIBE: a refused
// filter is an error, the others are noted as held.
func (c *Conn) noteSubscribed(filters []string, sub *sending) error {
	var refused []string
	if st, ok := sub.token.(*paho.SubscribeToken); ok {
		for f, code := range st.Result() {
			if code == 0x80 {
				refused = append(refused, f)
			}
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("the broker refused the subscription to %s (SUBACK 0x80); check that the client is authorised to subscribe to it", strings.Join(refused, ", "))
	}
	c.mu.Lock()
	for _, f := range filters {
		c.subscribed[f] = true
	}
	c.mu.Unlock()
	return nil
}

// Publish sends payload to topic at QoS 1 and waits for the PUBACK.
func (c *Conn) Publish(ctx context.Context, topic string, payload []byte) error {
	down := c.connection()
	pub := c.publish(topic, payload, nil)
	return c.await(ctx, pub, down, "publish")
}

// publish sends a PUBLISH at QoS 1, after prev's packet if prev is not nil.
func (c *Conn) publish(topic string, payload []byte, prev *sending) *sending {
	c.cfg.Trace("> PUBLISH %s %s", topic, payload)
	c.sent("PUBLISH", topic)
	return send(prev, func() paho.Token { return c.client.Publish(topic, qosAtLeastOnce, false, payload) })
}

// await waits for s, the connection to drop, or ctx, whichever first.
func (c *Conn) await(ctx context.Context, s *sending, down <-chan struct{}, op string) error {
	select {
	case <-s.Done():
		if err := s.Error(); err != nil {
			return c.lostError(op, err)
		}
		return nil
	case <-down:
		return c.lostError(op, nil)
	case <-ctx.Done():
		if isClosed(down) {
			return c.lostError(op, nil)
		}
		return contextError(ctx, op)
	}
}

// isClosed reports whether the connection that down watches is lost.
func isClosed(down <-chan struct{}) bool {
	select {
	case <-down:
		return true
	default:
		return false
	}
}

// Request publishes payload on topic (a request topic of the Jobs API) and
// returns the reply whose clientToken is clientToken, from topic's
// .../accepted or .../rejected. Both are subscribed first in one SUBSCRIBE
// unless already subscribed on this connection. Replies carrying another
// client token are someone else's and are ignored.
func (c *Conn) Request(ctx context.Context, topic jobs.Topic, payload []byte, clientToken string) (Reply, error) {
	if !topic.Op.Request() || topic.Reply != jobs.ReplyNone {
		return Reply{}, fmt.Errorf("mqttclient: %s is not a request topic", topic)
	}
	accepted, rejected := topic.Accepted().String(), topic.Rejected().String()
	replies := make(chan Reply, 1)
	id := c.addRoute([]string{accepted, rejected}, func(t string, p []byte) {
		if got := jobs.ClientTokenOf(p); got != clientToken {
			c.cfg.Trace("* ignoring the reply for client token %q, waiting for %q", got, clientToken)
			return
		}
		select {
		case replies <- Reply{Topic: t, Accepted: t == accepted, Payload: append([]byte(nil), p...)}:
		default: // a duplicate: the first one is already waiting
		}
	})
	defer c.removeRoute(id)

	var missing []string
	c.mu.Lock()
	for _, f := range []string{accepted, rejected} {
		if !c.coveredLocked(f) {
			missing = append(missing, f)
		}
	}
	c.mu.Unlock()

	// The SUBSCRIBE and the PUBLISH leave back to back: a broker handles one
	// connection's packets in order, so the subscription is in place before
	// the request is served, and the SUBACK's round trip is saved.
	down := c.connection()
	var suback <-chan struct{}
	var sub *sending
	if len(missing) > 0 {
		sub = c.startSubscribe(missing, nil)
		suback = sub.Done()
	}
	start := time.Now()
	puback := c.publish(topic.String(), payload, sub).Done()
	for {
		select {
		case r := <-replies:
			r.RoundTrip = time.Since(start)
			return r, nil
		case <-puback:
			puback = nil // the reply may still be on its way
		case <-suback:
			suback = nil
			if err := sub.Error(); err != nil {
				return Reply{}, c.lostError("subscribe", err)
			}
			if err := c.noteSubscribed(missing, sub); err != nil {
				return Reply{}, err
			}
		case <-down:
			if r, ok := pending(replies); ok {
				r.RoundTrip = time.Since(start)
				return r, nil
			}
			return Reply{}, c.lostError("wait for the reply", nil)
		case <-ctx.Done():
			if r, ok := pending(replies); ok {
				r.RoundTrip = time.Since(start)
				return r, nil
			}
			if isClosed(down) { // both at once: the loss says more
				return Reply{}, c.lostError("wait for the reply", nil)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return Reply{}, &TimeoutError{Op: topic.Op.String(), After: time.Since(start).Round(time.Millisecond),
					Hint: fmt.Sprintf("nothing answered on %s or %s: is a Jobs service (the emulator, or AWS IoT) serving this broker?", accepted, rejected)}
			}
			return Reply{}, ctx.Err()
		}
	}
}

func pending(replies <-chan Reply) (Reply, bool) {
	select {
	case r := <-replies:
		return r, true
	default:
		return Reply{}, false
	}
}

// lostError explains a connection that ended while op was in flight. On AWS
// IoT the server hangs up on a client whose policy denies what it just
// sent, and on the older of two clients sharing a client id.
func (c *Conn) lostError(op string, tokenErr error) error {
	c.mu.Lock()
	why, recent := c.downErr, slices.Clone(c.recent)
	limited := c.limited
	c.mu.Unlock()
	if limited != nil && limited.failure() != nil {
		// We hung up: the server broke the protocol.
		return &ConnectionError{Op: op, Err: limited.failure()}
	}
	if why == nil {
		why = tokenErr
	}
	if why == nil {
		why = errors.New("connection closed")
	}
	// The packets sent within the window before the last one: SUBSCRIBE
	// and PUBLISH leave back to back, and either may be the one denied.
	var suspects []sentPacket
	if len(recent) > 0 && time.Since(recent[len(recent)-1].at) <= hangUpWindow {
		last := recent[len(recent)-1].at
		for _, p := range recent {
			if last.Sub(p.at) <= hangUpWindow {
				suspects = append(suspects, p)
			}
		}
	}
	if len(suspects) == 0 {
		if len(recent) == 0 {
			return &ConnectionError{Op: op, Lost: true, Err: fmt.Errorf("the connection was lost (%v)", why)}
		}
		p := recent[len(recent)-1]
		return &ConnectionError{Op: op, Lost: true, Err: fmt.Errorf("the connection was lost %s after our %s (%v)", time.Since(p.at).Round(time.Millisecond), p, why)}
	}
	var sent, permissions []string
	for _, p := range suspects {
		sent = append(sent, p.String())
		permissions = append(permissions, p.permissions()...)
	}
	return &ConnectionError{
		Op:            op,
		Lost:          true,
		PolicySuspect: true,
		Err:           fmt.Errorf("the server closed the connection right after our %s (%v)", strings.Join(sent, " and "), why),
		Hint: "on AWS IoT this is how a policy denies an action: the policy attached to the certificate must allow " +
			strings.Join(permissions, ", ") +
			fmt.Sprintf("; it also happens when another client connects with the same client id %q", c.cfg.ClientID),
	}
}

func contextError(ctx context.Context, op string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &TimeoutError{Op: op}
	}
	return ctx.Err()
}

// Close disconnects, letting in-flight work finish for a moment.
func (c *Conn) Close() {
	c.closeOnce.Do(func() { close(c.closing) })
	c.client.Disconnect(closeQuiesce)
}

// MatchTopic reports whether an MQTT topic filter matches a topic name,
// with the rule that wildcards at the first level do not match topics that
// begin with '$'.
func MatchTopic(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, f := range fl {
		if f == "#" {
			return true
		}
		if i >= len(tl) || (f != "+" && f != tl[i]) {
			return false
		}
	}
	return len(fl) == len(tl)
}
