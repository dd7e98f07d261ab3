// Package engine is the Jobs service itself: the state machine of jobs and
// executions over the durable store, the device API (HandlePublish), the
// control-plane operations, timers, and the typed events of every committed
// change, from which the notifications are rendered. The emulator puts it
// behind an MQTT front and an HTTP control plane; it knows neither.
package engine

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/clock"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
)

// Message is one MQTT publication the engine wants sent.
type Message struct {
	Topic   string
	Payload []byte
}

// Options configures Open.
type Options struct {
	// DataPath is the bbolt file; store.MemoryPath keeps nothing across
	// runs but otherwise behaves the same.
	DataPath string
	// Minute is the length of one emulated minute (step and in-progress
	// timers); 0 means time.Minute.
	Minute time.Duration
	// Clock tells the time and runs the timers; nil means the system clock.
	Clock clock.Clock
	// Notify, when set, receives every notify and notify-next publication,
	// rendered from the committed events in commit order on a goroutine of
	// its own (see Subscribe).
	Notify func(Message)
	// Events, when set, receives the Jobs events on $aws/events/job/... and
	// $aws/events/jobExecution/... of the types UpdateEventConfigurations
	// enabled, rendered from the committed events as Notify's are, on a
	// goroutine of their own.
	Events func(Message)
	// Logger; nil discards.
	Logger *slog.Logger
}

// RequestFilters are the topic filters a service client subscribes to in
// attach mode. Two single-level wildcards at the depths of the request topics
// ($aws/things/T/jobs/get|start-next and $aws/things/T/jobs/J/get|update) see
// every request and every unknown topic at those depths, and they do not
// overlap, so no broker delivers a request twice. They also echo the
// engine's own notify and get|start-next replies back to it; HandlePublish
// ignores those.
var RequestFilters = []string{
	"$aws/things/+/jobs/+",
	"$aws/things/+/jobs/+/+",
}

// thingLocks is the number of stripes of the writers' per-thing locks.
const thingLocks = 256

// Engine is the Jobs service. It is safe for concurrent use.
//
// Locking: control-plane writes hold opsMu exclusively. Device writes and
// timer expiries hold opsMu shared plus the stripe lock of their thing, so
// writers of different things commit concurrently and share fsyncs; the
// lock exists whether or not the thing has executions, so any cause may
// create them. stateMu guards the in-memory state and is held only in
// memory, never across a commit: reads never wait for the disk, and they
// only ever see committed state. The apply step hands its events to the
// subscriptions under stateMu, so they see them in commit order; handing
// over never blocks. The order is opsMu, a thing stripe, stateMu, a
// subscription's lock.
type Engine struct {
	clock clock.Emulated
	log   *slog.Logger
	store *store.Store

	opsMu  sync.RWMutex
	closed bool // guarded by opsMu

	thingSeed  maphash.Seed
	thingLocks [thingLocks]sync.Mutex

	stateMu sync.RWMutex
	jobs    map[string]*job
	jobList []*job // in creation order
	things  map[string]*thingState
	// The registry: things by name, groups by name, members by group.
	regThings map[string]*store.ThingRecord
	groups    map[string]*store.GroupRecord
	members   map[string]map[string]bool
	lastSeq   uint64
	started   bool
	subs      []*subscription

	events atomic.Pointer[eventConfig] // see eventconfig.go
}

// errClosed is what a write meets after Close.
var errClosed = errors.New("the engine is closed")

// Open opens (or creates) the store at opts.DataPath and loads it.
func Open(opts Options) (*Engine, error) {
	if opts.DataPath == "" {
		return nil, errors.New("engine: no data path")
	}
	e := &Engine{
		clock:     clock.Emulated{Clock: opts.Clock, Minute: cmp.Or(opts.Minute, time.Minute)},
		log:       opts.Logger,
		thingSeed: maphash.MakeSeed(),
		jobs:      map[string]*job{},
		things:    map[string]*thingState{},
		regThings: map[string]*store.ThingRecord{},
		groups:    map[string]*store.GroupRecord{},
		members:   map[string]map[string]bool{},
	}
	if e.clock.Clock == nil {
		e.clock.Clock = clock.Real()
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := store.Open(opts.DataPath)
	if err != nil {
		return nil, err
	}
	e.store = s
	if err := e.load(); err != nil {
		s.Close()
		return nil, fmt.Errorf("load %s: %w", opts.DataPath, err)
	}
	if opts.Notify != nil {
		e.Subscribe("notifications", renderNotifications(opts.Notify))
	}
	if opts.Events != nil {
		e.Subscribe("events", e.renderAWSEvents(opts.Events))
	}
	return e, nil
}

func (e *Engine) load() error {
	if err := e.loadRegistry(); err != nil {
		return err
	}
	if err := e.loadEventConfig(); err != nil {
		return err
	}
	err := e.store.Load(func(r store.JobRecord) error {
		e.jobs[r.ID] = &job{JobRecord: r}
		e.lastSeq = max(e.lastSeq, r.Seq)
		return nil
	}, func(r store.ExecRecord) error {
		j := e.jobs[r.JobID]
		if j == nil {
			return fmt.Errorf("execution of %s on %s belongs to no job", r.JobID, r.Thing)
		}
		ts := e.thing(r.Thing)
		// Share the names with the job and the thing instead of keeping a
		// decoded copy per execution.
		r.JobID, r.Thing = j.ID, ts.name
		x := &execution{ExecRecord: r, job: j}
		ts.add(x) // the store lists a job's executions on a thing by number
		if r.Status.Pending() {
			ts.pending = append(ts.pending, x)
		}
		j.execs = append(j.execs, x)
		j.noteEnded(x)
		return nil
	})
	if err != nil {
		return err
	}
	for _, j := range e.jobs {
		e.jobList = append(e.jobList, j)
		j.sortExecs()
		j.countThings()
	}
	slices.SortFunc(e.jobList, func(a, b *job) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, ts := range e.things {
		slices.SortFunc(ts.pending, func(a, b *execution) int {
			if a.queueKey().less(b.queueKey()) {
				return -1
			}
			return 1
		})
	}
	return nil
}

// thing returns the state of the named thing, creating it; stateMu is held
// for writing.
func (e *Engine) thing(name string) *thingState {
	ts := e.things[name]
	if ts == nil {
		ts = &thingState{name: name, execs: map[string][]*execution{}}
		e.things[name] = ts
	}
	return ts
}

// Start arms the timers loaded from the store; one that expired while the
// engine was down fires now. Call it once the subscribers are ready.
func (e *Engine) Start() {
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	if e.started {
		return
	}
	e.started = true
	for _, ts := range e.things {
		for _, x := range ts.pending {
			e.armLocked(x)
		}
	}
	for _, j := range e.jobList {
		e.armRolloutLocked(j)
	}
}

// Close stops the timers, closes the store, delivers the events committed
// so far and stops the subscriptions. Calls after Close fail with
// InternalError (device requests) or InternalFailure (control plane).
func (e *Engine) Close() error {
	e.opsMu.Lock()
	defer e.opsMu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.stateMu.Lock()
	e.started = false
	for _, ts := range e.things {
		for _, x := range ts.pending {
			e.armLocked(x)
		}
	}
	for _, j := range e.jobList {
		e.armRolloutLocked(j)
	}
	subs := e.subs
	e.subs = nil
	e.stateMu.Unlock()
	err := e.store.Close()
	for _, s := range subs {
		s.close()
	}
	return err
}

// writeThing runs fn as a device-side writer of one thing: with opsMu
// shared and the thing's stripe lock held, so no two writers of the thing
// decide on the same version.
func (e *Engine) writeThing(thing string, fn func() error) error {
	e.opsMu.RLock()
	defer e.opsMu.RUnlock()
	if e.closed {
		return errClosed
	}
	mu := &e.thingLocks[maphash.String(e.thingSeed, thing)%thingLocks]
	mu.Lock()
	defer mu.Unlock()
	return fn()
}
