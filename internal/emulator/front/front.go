// Package front is the emulator's MQTT side: the embedded broker (mochi)
// with the engine hooked in, or attach mode, where the engine serves the
// Jobs topics as a client of an existing broker. Both feed each client
// publication to a Handler as an engine.Request and send its reply through
// one Delivery, which middleware (throttling, fault injection) may wrap.
//
// In the embedded broker, mochi's hooks form a chain: the authorisation
// hook answers CONNECT and the ACL checks (allow-all today; limits and
// policies stack before it), the service hook hands publications to the
// engine. A hook runs on its client's read goroutine: it must never sleep.
package front

import (
	"context"
	"log/slog"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/policy"
)

// Handler is what the front needs of the engine.
type Handler interface {
	HandlePublish(ctx context.Context, req engine.Request) (reply engine.Message, ok bool)
}

// Delivery sends reply to the client that made req.
type Delivery func(ctx context.Context, req engine.Request, reply engine.Message) error

// Middleware wraps the delivery of replies.
type Middleware func(next Delivery) Delivery

// Options configures a front.
type Options struct {
	Handler Handler
	// Middleware wraps the front's own delivery, the first outermost.
	Middleware []Middleware
	// ConnectTimeout and MaxConnections bound the embedded broker's
	// clients (see mochilistener.Options); zero means no bound.
	ConnectTimeout time.Duration
	MaxConnections int
	// Lenient turns off AWS IoT's broker rules (reserved topics, topic
	// and payload sizes, filters per SUBSCRIBE, QoS 2, keep-alive clamp,
	// 50 subscriptions per connection) for a general-purpose broker.
	Lenient bool
	// PublishesPerSecond (per connection) and ConnectsPerSecond (per
	// client id) throttle the embedded broker's clients; 0 is no limit.
	PublishesPerSecond, ConnectsPerSecond float64
	// Policies, when any, are enforced on the embedded broker's clients,
	// evaluated in the region and account they name (else the emulator's).
	Policies policy.Set
	// Logger; nil discards.
	Logger *slog.Logger
}

// optsLogger is opts' logger, or one that discards.
func optsLogger(opts Options) *slog.Logger {
	if opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return opts.Logger
}

// service is what both fronts share: the handler behind the delivery chain.
type service struct {
	handler Handler
	deliver Delivery
	log     *slog.Logger
}

func newService(opts Options, base Delivery) service {
	log := optsLogger(opts)
	deliver := base
	for i := len(opts.Middleware) - 1; i >= 0; i-- {
		deliver = opts.Middleware[i](deliver)
	}
	return service{handler: opts.Handler, deliver: deliver, log: log}
}

// serve hands one publication to the engine and delivers its reply, if any.
func (s service) serve(ctx context.Context, req engine.Request) {
	reply, ok := s.handler.HandlePublish(ctx, req)
	if !ok {
		return
	}
	if err := s.deliver(ctx, req, reply); err != nil {
		s.log.Debug("reply not delivered", "client", req.ClientID, "topic", reply.Topic, "error", err)
	}
}
