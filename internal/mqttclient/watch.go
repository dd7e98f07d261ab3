package mqttclient

import (
	"context"
	"strings"
	"sync"
	"time"
)

// EventKind says what an Event of a Watch is.
type EventKind int

// The events of a Watch.
const (
	// Message is a message on one of the watched filters.
	Message EventKind = iota + 1
	// Lost is the connection dropping; the client is reconnecting: after
	// RetryIn when the server hung up (see Conn's pacing), then with paho's
	// backoff (1 s, doubling, at most the endpoint's MaxRetryInterval).
	Lost
	// Reconnected is a new connection on which the watched filters are
	// subscribed again. Messages sent while the client was away are gone
	// (clean session), so this is the moment to re-read the state.
	Reconnected
	// Retrying is a reconnect attempt that failed (the server is still
	// away): told as soon as its dial fails, with why (Err), the next
	// attempt coming within Within; else (Err nil) as the next attempt
	// starts.
	Retrying
)

// MaxRetryInterval bounds the wait between two reconnect attempts to a
// remote endpoint; to one on this machine (an emulator restarted by hand or
// by a test rig) the bound is LocalMaxRetryInterval, so that the client is
// back within seconds of it, and attempts cost nothing but a refused dial.
const (
	MaxRetryInterval      = 30 * time.Second
	LocalMaxRetryInterval = 5 * time.Second
)

// RetryInterval is the bound on the wait between two reconnect attempts
// to e.
func (e Endpoint) RetryInterval() time.Duration {
	if e.IsLoopback() {
		return LocalMaxRetryInterval
	}
	return MaxRetryInterval
}

// Event is one thing a Watch saw, in the order it saw them.
type Event struct {
	Kind    EventKind
	Topic   string        // Message
	Payload []byte        // Message
	Err     error         // Lost: why the connection dropped; Retrying: why the attempt failed, if known
	RetryIn time.Duration // Lost: the wait before reconnecting (0: at once)
	Attempt int           // Retrying: the next attempt's number since the drop, from 2
	Within  time.Duration // Retrying: the bound on the wait before the next attempt
	At      time.Time     // when it was received
}

// Watch is a long-lived, auto-reconnecting connection subscribed to a set
// of filters. Its messages and connection changes queue up without bound
// and are read with Next: paho's handlers only append, so a slow reader
// (a stdout blocked by a pager) never stalls the client's keep-alive, and
// nothing is dropped. The embedded Conn serves requests on the side (a
// describe after a reconnect).
type Watch struct {
	*Conn

	mu    sync.Mutex
	queue []Event
	wake  chan struct{} // one token: the queue may be non-empty
	// taps are the other readers of these events (Tap); source is the
	// Watch a tap reads from, nil for the one that owns the connection.
	taps   map[*Watch]struct{}
	source *Watch
}

// DialWatch connects with AutoReconnect and subscribes to filters in one
// SUBSCRIBE; ctx bounds both. After each reconnect the filters are
// subscribed again before a Reconnected event is queued, so a request made
// on that event sees a state no later than the next queued message.
func DialWatch(ctx context.Context, cfg Config, filters []string) (*Watch, error) {
	w := &Watch{wake: make(chan struct{}, 1)}
	cfg.AutoReconnect = true
	// A stream must come out in the order the broker sent it; the handlers
	// below only append to the queue, so they may run on paho's router.
	cfg.inOrder = true
	cfg.onLost = func(err error, retryIn time.Duration) { w.push(Event{Kind: Lost, Err: err, RetryIn: retryIn}) }
	cfg.onReconnect = func() { w.push(Event{Kind: Reconnected}) }
	cfg.onRetry = func(next int, why error) {
		w.push(Event{Kind: Retrying, Attempt: next, Err: why, Within: cfg.Endpoint.RetryInterval()})
	}
	conn, err := Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	err = conn.Subscribe(ctx, filters, func(topic string, payload []byte) {
		w.push(Event{Kind: Message, Topic: topic, Payload: append([]byte(nil), payload...)})
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	w.Conn = conn
	conn.cfg.Trace("* watching %s", strings.Join(filters, ", "))
	return w, nil
}

func (w *Watch) push(e Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	w.mu.Lock()
	w.queue = append(w.queue, e)
	taps := make([]*Watch, 0, len(w.taps))
	for t := range w.taps {
		taps = append(taps, t)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // a token is already there
	}
	for _, t := range taps {
		t.push(e)
	}
}

// Tap is a second reader of w's events, from now on, on w's connection:
// a command run inside a session (iotjobs shell) follows the session's
// notifications with it. Closing a tap ends the tap, not the connection.
func (w *Watch) Tap() *Watch {
	t := &Watch{Conn: w.Conn, wake: make(chan struct{}, 1), source: w}
	w.mu.Lock()
	if w.taps == nil {
		w.taps = map[*Watch]struct{}{}
	}
	w.taps[t] = struct{}{}
	w.mu.Unlock()
	return t
}

// Close ends a tap, or disconnects the Watch that owns the connection.
func (w *Watch) Close() {
	if w.source == nil {
		w.Conn.Close()
		return
	}
	w.source.mu.Lock()
	delete(w.source.taps, w)
	w.source.mu.Unlock()
}

// Next returns the oldest event not yet returned, waiting for one if need
// be. Once ctx is done it returns ctx's error even if events are queued:
// the caller asked to stop.
func (w *Watch) Next(ctx context.Context) (Event, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Event{}, err
		}
		w.mu.Lock()
		if len(w.queue) > 0 {
			e := w.queue[0]
			w.queue[0] = Event{} // let the payload go
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return e, nil
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-ctx.Done():
		}
	}
}
