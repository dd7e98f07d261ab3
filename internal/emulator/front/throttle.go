package front

import (
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/time/rate"
)

// NewLimiter is a limiter of n per second with a burst of one second's
// worth; nil for no limit.
func NewLimiter(n float64) *rate.Limiter {
	if n <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(n), max(1, int(n)))
}

// throttleHook applies the message broker's rates: PUBLISHes per
// connection beyond PublishesPerSecond are discarded (no acknowledgement,
// not routed, not served), and CONNECTs per client id beyond
// ConnectsPerSecond are refused (the connection closed without CONNACK).
type throttleHook struct {
	mqtt.HookBase
	publishes, connects float64
	log                 *slog.Logger

	mu        sync.Mutex
	perClient map[*mqtt.Client]*publishLimit
	perID     map[string]*rate.Limiter
}

// publishLimit is a connection's PUBLISH rate, and when a discard was
// last logged (at most one line a second per connection).
type publishLimit struct {
	*rate.Limiter
	logged time.Time
}

func newThrottleHook(publishes, connects float64, log *slog.Logger) *throttleHook {
	return &throttleHook{publishes: publishes, connects: connects, log: log,
		perClient: map[*mqtt.Client]*publishLimit{}, perID: map[string]*rate.Limiter{}}
}

func (h *throttleHook) ID() string { return "iotjobs-throttle" }

func (h *throttleHook) Provides(b byte) bool {
	return b == mqtt.OnConnect || b == mqtt.OnPublish || b == mqtt.OnDisconnect
}

// maxIdleLimiters bounds the per-client-id limiters kept: past it, those
// back at their full burst (idle for a second or more) are forgotten.
const maxIdleLimiters = 10000

func (h *throttleHook) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	if h.connects <= 0 || cl.Net.Inline {
		return nil
	}
	h.mu.Lock()
	lim, ok := h.perID[cl.ID]
	if !ok {
		if len(h.perID) >= maxIdleLimiters {
			for id, l := range h.perID {
				if l.Tokens() >= float64(l.Burst()) {
					delete(h.perID, id)
				}
			}
		}
		lim = NewLimiter(h.connects)
		h.perID[cl.ID] = lim
	}
	allowed := lim.Allow()
	h.mu.Unlock()
	if !allowed {
		h.log.Warn("CONNECT refused: over the connects per second of a client id", "client", cl.ID, "limit", h.connects)
		return packets.ErrServerBusy
	}
	return nil
}

func (h *throttleHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if h.publishes <= 0 || cl.Net.Inline {
		return pk, nil
	}
	h.mu.Lock()
	lim, ok := h.perClient[cl]
	if !ok {
		lim = &publishLimit{Limiter: NewLimiter(h.publishes)}
		h.perClient[cl] = lim
	}
	allowed := lim.Allow()
	logIt := !allowed && time.Since(lim.logged) >= time.Second
	if logIt {
		lim.logged = time.Now()
	}
	h.mu.Unlock()
	if allowed {
		return pk, nil
	}
	if logIt {
		h.log.Warn("PUBLISH discarded: over the publishes per second of a connection", "client", cl.ID, "topic", pk.TopicName, "limit", h.publishes)
	}
	return pk, packets.ErrRejectPacket
}

func (h *throttleHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	delete(h.perClient, cl)
	h.mu.Unlock()
}
