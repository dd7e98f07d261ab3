// Package faults injects, on demand, what AWS IoT does to devices on a bad
// day: replies lost or late, InternalError, duplicated notifications, a
// connection closed. The emulator wraps its engine, its front's delivery
// and its notifications with an Injector; the control plane sets the faults.
// Every fault that fires is logged.
package faults

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/emulator/front"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// Injector holds the active faults.
type Injector struct {
	log *slog.Logger

	mu         sync.Mutex
	faults     []*iotapi.Fault
	nextID     int
	disconnect func(clientID string) error
	// active is len(faults), read without the lock: with no fault set, a
	// request or a reply pays one atomic load.
	active atomic.Int32
}

// New is an Injector with no fault active.
func New(log *slog.Logger) *Injector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Injector{log: log.With("component", "faults")}
}

// SetDisconnect gives the injector the front's way to close a client's
// connection; without one (attach mode), a disconnect fault is refused.
func (f *Injector) SetDisconnect(fn func(clientID string) error) {
	f.mu.Lock()
	f.disconnect = fn
	f.mu.Unlock()
}

// Inject activates a fault, or for a disconnect does it at once.
func (f *Injector) Inject(in iotapi.FaultInput) (iotapi.Fault, error) {
	if err := in.Check(); err != nil {
		return iotapi.Fault{}, err
	}
	f.mu.Lock()
	f.nextID++
	fault := &iotapi.Fault{ID: f.nextID, FaultInput: in}
	disconnect := f.disconnect
	if in.Kind != iotapi.FaultDisconnect {
		f.faults = append(f.faults, fault)
		f.active.Store(int32(len(f.faults)))
	}
	f.mu.Unlock()
	if in.Kind == iotapi.FaultDisconnect {
		if disconnect == nil {
			return iotapi.Fault{}, iotapi.Errorf(iotapi.InvalidRequest, "disconnect needs the embedded broker: in attach mode the broker is not the emulator's")
		}
		if err := disconnect(in.ClientID); err != nil {
			return iotapi.Fault{}, iotapi.Errorf(iotapi.ResourceNotFound, "%v", err)
		}
		fault.Fired = 1
		f.log.Warn("fault fired", "fault", fault.String())
		return *fault, nil
	}
	f.log.Info("fault set", "fault", fault.String(), "count", in.Count)
	return *fault, nil
}

// List is the active faults, oldest first.
func (f *Injector) List() []iotapi.Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]iotapi.Fault, len(f.faults))
	for i, fault := range f.faults {
		out[i] = *fault
	}
	return out
}

// Clear deactivates every fault.
func (f *Injector) Clear() {
	f.mu.Lock()
	f.faults = nil
	f.active.Store(0)
	f.mu.Unlock()
	f.log.Info("faults cleared")
}

// fire consumes one firing of the oldest active fault of kind that applies
// to thing and returns a copy of it; ok is false when none fires. A fault
// with a probability fires on that chance.
func (f *Injector) fire(kind iotapi.FaultKind, thing string) (iotapi.Fault, bool) {
	if f.active.Load() == 0 {
		return iotapi.Fault{}, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, fault := range f.faults {
		if fault.Kind != kind || (fault.Thing != "" && fault.Thing != thing) {
			continue
		}
		if fault.Probability > 0 && rand.Float64() >= fault.Probability {
			return iotapi.Fault{}, false
		}
		fault.Fired++
		if fault.Count > 0 && fault.Fired >= fault.Count {
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
			f.active.Store(int32(len(f.faults)))
		}
		return *fault, true
	}
	return iotapi.Fault{}, false
}

// Middleware drops or delays replies. A delayed reply is sent from a timer,
// never by sleeping on the client's read goroutine.
func (f *Injector) Middleware() front.Middleware {
	return func(next front.Delivery) front.Delivery {
		return func(ctx context.Context, req engine.Request, reply engine.Message) error {
			if fault, ok := f.fire(iotapi.FaultDropReplies, req.Thing); ok {
				f.log.Warn("fault fired", "fault", fault.String(), "topic", reply.Topic, "client", req.ClientID)
				return nil
			}
			if fault, ok := f.fire(iotapi.FaultDelayReplies, req.Thing); ok {
				f.log.Warn("fault fired", "fault", fault.String(), "topic", reply.Topic, "client", req.ClientID)
				time.AfterFunc(time.Duration(fault.DelayMillis)*time.Millisecond, func() {
					if err := next(ctx, req, reply); err != nil {
						f.log.Debug("delayed reply not delivered", "topic", reply.Topic, "error", err)
					}
				})
				return nil
			}
			return next(ctx, req, reply)
		}
	}
}

// handler answers some requests InternalError without handing them to the
// engine: the request fails, as on AWS, and nothing changes.
type handler struct {
	f    *Injector
	next front.Handler
}

// Handler wraps the engine with the internal-errors fault.
func (f *Injector) Handler(next front.Handler) front.Handler { return handler{f: f, next: next} }

func (h handler) HandlePublish(ctx context.Context, req engine.Request) (engine.Message, bool) {
	if h.f.active.Load() == 0 {
		return h.next.HandlePublish(ctx, req)
	}
	t, err := jobs.ParseTopic(req.Topic)
	if err == nil && t.Op.Request() && t.Reply == jobs.ReplyNone {
		if fault, ok := h.f.fire(iotapi.FaultInternalErrors, req.Thing); ok {
			h.f.log.Warn("fault fired", "fault", fault.String(), "topic", req.Topic, "client", req.ClientID)
			body, _ := jobs.Encode(jobs.Reject(jobs.CodeInternalError, "Injected fault: the service failed").Response(jobs.ClientTokenOf(req.Payload), time.Now().Unix()))
			return engine.Message{Topic: req.Topic + "/" + string(jobs.ReplyRejected), Payload: body}, true
		}
	}
	return h.next.HandlePublish(ctx, req)
}

// Notify wraps the publication of notifications with the
// duplicate-notifications fault.
func (f *Injector) Notify(send func(engine.Message)) func(engine.Message) {
	return func(m engine.Message) {
		send(m)
		if f.active.Load() == 0 {
			return
		}
		thing := ""
		if t, err := jobs.ParseTopic(m.Topic); err == nil {
			thing = t.Thing
		}
		if fault, ok := f.fire(iotapi.FaultDuplicateNotifications, thing); ok {
			f.log.Warn("fault fired", "fault", fault.String(), "topic", m.Topic)
			send(m)
		}
	}
}
