// Package engine is the Jobs service itself: the state machine of jobs and
// executions over the durable store, the device API (HandlePublish), the
// control-plane operations, timers and notifications. The emulator puts it
// behind an MQTT front and an HTTP control plane; it knows neither.
package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/clock"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/jobs"
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
	// Notify receives every notify and notify-next publication after the
	// change is committed. It is called synchronously, in commit order per
	// thing, so it must return quickly and must not call back into the Engine.
	Notify func(Message)
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

// Engine is the Jobs service. It is safe for concurrent use.
//
// Locking: control-plane writes hold opsMu exclusively. Device writes and
// timer expiries hold opsMu shared plus the write lock of their thing, so
// writers of different things commit concurrently and share fsyncs. stateMu
// guards the in-memory state and is held only in memory, never across a
// commit: reads never wait for the disk, and they only ever see committed
// state. The order is opsMu, thingState.mu, stateMu.
type Engine struct {
	clock  clock.Emulated
	notify func(Message)
	log    *slog.Logger
	store  *store.Store

	opsMu  sync.RWMutex
	closed bool // guarded by opsMu

	stateMu sync.RWMutex
	jobs    map[string]*job
	jobList []*job // in creation order
	things  map[string]*thingState
	lastSeq uint64
	started bool
}

// errClosed is what a write meets after Close.
var errClosed = errors.New("the engine is closed")

// Open opens (or creates) the store at opts.DataPath and loads it.
func Open(opts Options) (*Engine, error) {
	if opts.DataPath == "" {
		return nil, errors.New("engine: no data path")
	}
	e := &Engine{
		clock:  clock.Emulated{Clock: opts.Clock, Minute: cmp.Or(opts.Minute, time.Minute)},
		notify: opts.Notify,
		log:    opts.Logger,
		jobs:   map[string]*job{},
		things: map[string]*thingState{},
	}
	if e.clock.Clock == nil {
		e.clock.Clock = clock.Real()
	}
	if e.notify == nil {
		e.notify = func(Message) {}
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
	return e, nil
}

func (e *Engine) load() error {
	err := e.store.Load(func(r store.JobRecord) error {
		e.jobs[r.ID] = &job{JobRecord: r, counts: map[jobs.Status]int{}}
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
		ts.execs[r.JobID] = x
		if r.Status.Pending() {
			ts.pending = append(ts.pending, x)
		}
		j.execs = append(j.execs, x)
		j.counted(x, 1)
		return nil
	})
	if err != nil {
		return err
	}
	for _, j := range e.jobs {
		e.jobList = append(e.jobList, j)
		sortByThing(j.execs)
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

func sortByThing(xs []*execution) {
	slices.SortFunc(xs, func(a, b *execution) int { return compareStrings(a.Thing, b.Thing) })
}

// thing returns the state of the named thing, creating it; stateMu is held
// for writing.
func (e *Engine) thing(name string) *thingState {
	ts := e.things[name]
	if ts == nil {
		ts = &thingState{name: name, execs: map[string]*execution{}}
		e.things[name] = ts
	}
	return ts
}

// counted adds delta to the job's count of x's status and notes when x
// became terminal.
func (j *job) counted(x *execution, delta int) {
	j.counts[x.Status] += delta
	if delta > 0 && x.Status.Terminal() {
		j.lastTerminalAt = max(j.lastTerminalAt, x.LastUpdatedAt)
	}
}

// Start arms the timers loaded from the store; one that expired while the
// engine was down fires now. Call it once Notify's target is ready.
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
}

// Close stops the timers and closes the store. Calls after Close fail with
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
	e.stateMu.Unlock()
	return e.store.Close()
}

// execChange writes an execution (next != nil) or deletes execution
// number of the job on the thing.
type execChange struct {
	thing, jobID string
	number       int64
	next         *store.ExecRecord
}

// mutation is one atomic change of the state.
type mutation struct {
	job       *store.JobRecord // written when set
	deleteJob bool             // delete job (its executions are in execs)
	execs     []execChange
}

// commit persists m and only then applies it to memory and publishes the
// notifications it causes, so nothing is visible or announced that a crash
// could undo. The caller holds opsMu exclusively, or shared plus the write
// lock of the one thing m touches.
func (e *Engine) commit(m *mutation) error {
	puts := make([]store.Put, 0, len(m.execs)+1)
	if m.job != nil {
		if m.deleteJob {
			puts = append(puts, store.DeleteJob(m.job.ID))
		} else {
			puts = append(puts, store.PutJob(m.job))
		}
	}
	for _, c := range m.execs {
		if c.next == nil {
			puts = append(puts, store.DeleteExec(c.thing, c.jobID, c.number))
		} else {
			puts = append(puts, store.PutExec(c.next))
		}
	}
	if err := e.store.Write(puts); err != nil {
		e.log.Error("store write failed", "err", err)
		return err
	}
	e.stateMu.Lock()
	msgs := e.applyLocked(m)
	e.stateMu.Unlock()
	for _, msg := range msgs {
		e.notify(msg)
	}
	return nil
}

// applyLocked applies a committed mutation to memory and returns the
// notifications it causes: notify when an execution joins or leaves the
// thing's pending set, notify-next when the head of the queue is another
// execution than before (not when the head only changes status or details).
func (e *Engine) applyLocked(m *mutation) []Message {
	var j *job
	if m.job != nil {
		j = e.jobs[m.job.ID]
		if j == nil {
			j = &job{counts: map[jobs.Status]int{}}
			e.jobs[m.job.ID] = j
			e.jobList = append(e.jobList, j)
			e.lastSeq = max(e.lastSeq, m.job.Seq)
		}
		j.JobRecord = *m.job
	}
	var msgs []Message
	now := e.clock.Now().Unix()
	var created *job // executions are only ever created together with their job
	for _, c := range m.execs {
		ts := e.thing(c.thing)
		head := ts.head()
		x := ts.execs[c.jobID]
		wasPending := x != nil && x.Status.Pending()
		if wasPending {
			ts.removePending(x)
		}
		switch {
		case c.next == nil:
			x.job.counted(x, -1)
			delete(ts.execs, c.jobID)
			if !m.deleteJob {
				if i, ok := x.job.execIndex(c.thing); ok {
					x.job.execs = slices.Delete(x.job.execs, i, i+1)
				}
			}
			disarm(x)
		case x == nil:
			x = &execution{ExecRecord: *c.next, job: e.jobs[c.jobID]}
			ts.execs[c.jobID] = x
			x.job.execs = append(x.job.execs, x)
			x.job.counted(x, 1)
			created = x.job
		default:
			x.job.counted(x, -1)
			x.ExecRecord = *c.next
			x.job.counted(x, 1)
		}
		isPending := c.next != nil && c.next.Status.Pending()
		if isPending {
			ts.insertPending(x)
		}
		if c.next != nil {
			e.armLocked(x)
		}
		if wasPending != isPending {
			msgs = append(msgs, notifyMessage(ts, now))
		}
		if ts.head() != head {
			msgs = append(msgs, notifyNextMessage(ts, now))
		}
		if len(ts.execs) == 0 {
			delete(e.things, c.thing)
		}
	}
	if created != nil {
		sortByThing(created.execs)
	}
	if m.deleteJob {
		delete(e.jobs, m.job.ID)
		e.jobList = slices.DeleteFunc(e.jobList, func(x *job) bool { return x == j })
	}
	return msgs
}

// Request is one publication of a client that the front hands the engine:
// who sent it, on which topic, and the thing the topic names. Build it with
// NewRequest, which parses the topic once for every hook and the engine.
type Request struct {
	ClientID string
	Topic    string
	Payload  []byte
	// Thing is the thing of a $aws/things/THING/jobs/... topic, else "".
	Thing string

	parsed   jobs.Topic
	parseErr error
	ready    bool // built by NewRequest
}

// NewRequest is the request of clientID's publication of payload on topic.
func NewRequest(clientID, topic string, payload []byte) Request {
	r := Request{ClientID: clientID, Topic: topic, Payload: payload, ready: true}
	r.parsed, r.parseErr = jobs.ParseTopic(topic)
	if r.parseErr == nil {
		r.Thing = r.parsed.Thing
	}
	return r
}

// HandlePublish handles one publication by a device. For a Jobs request topic,
// or a topic in the $aws/things/T/jobs/ namespace that maps to no API, it
// returns the reply to deliver to the publishing client only, with ok true.
// Anything else (reply and notify topics, topics outside the namespace) is
// ignored: ok is false, as it is once ctx is done (the front is closing).
func (e *Engine) HandlePublish(ctx context.Context, req Request) (reply Message, ok bool) {
	if ctx.Err() != nil {
		return Message{}, false
	}
	if !req.ready {
		req = NewRequest(req.ClientID, req.Topic, req.Payload)
	}
	topic, payload := req.Topic, req.Payload
	t, err := req.parsed, req.parseErr
	switch {
	case errors.Is(err, jobs.ErrNotJobsTopic):
		return Message{}, false
	case err != nil:
		// Never answer what looks like a reply: in attach mode the engine's
		// own replies come back to it, and answering them would loop.
		if isReplyTopic(topic) {
			return Message{}, false
		}
		rej := jobs.Reject(jobs.CodeInvalidTopic, "The topic "+topic+" does not map to any Jobs API")
		return e.rejected(topic, payload, rej), true
	case !t.Op.Request() || t.Reply != jobs.ReplyNone:
		return Message{}, false
	}
	now := e.clock.Now()
	var resp any
	var rej *jobs.Rejection
	switch t.Op {
	case jobs.OpGetPending:
		resp, rej = e.getPending(t.Thing, payload, now)
	case jobs.OpStartNext:
		resp, rej = e.startNext(t.Thing, payload, now)
	case jobs.OpDescribe:
		resp, rej = e.describe(t.Thing, t.JobID, payload, now)
	case jobs.OpUpdate:
		resp, rej = e.update(t.Thing, t.JobID, payload, now)
	}
	if rej != nil {
		return e.rejected(topic, payload, rej), true
	}
	body, err := json.Marshal(resp)
	if err != nil {
		e.log.Error("encode reply", "topic", topic, "err", err)
		return e.rejected(topic, payload, jobs.Reject(jobs.CodeInternalError, "The reply could not be encoded")), true
	}
	return Message{Topic: topic + "/" + string(jobs.ReplyAccepted), Payload: body}, true
}

func isReplyTopic(topic string) bool {
	return strings.HasSuffix(topic, "/"+string(jobs.ReplyAccepted)) || strings.HasSuffix(topic, "/"+string(jobs.ReplyRejected))
}

func (e *Engine) rejected(topic string, payload []byte, rej *jobs.Rejection) Message {
	body, _ := json.Marshal(rej.Response(jobs.ClientTokenOf(payload), e.clock.Now().Unix()))
	return Message{Topic: topic + "/" + string(jobs.ReplyRejected), Payload: body}
}

func notifyMessage(ts *thingState, now int64) Message {
	inProgress, queued := ts.listed()
	msg := jobs.NotifyMessage{Timestamp: now, Jobs: map[jobs.Status][]jobs.JobExecutionSummary{}}
	if len(inProgress) > 0 {
		msg.Jobs[jobs.StatusInProgress] = inProgress
	}
	if len(queued) > 0 {
		msg.Jobs[jobs.StatusQueued] = queued
	}
	body, _ := json.Marshal(msg)
	return Message{Topic: jobs.NotifyTopic(ts.name).String(), Payload: body}
}

func notifyNextMessage(ts *thingState, now int64) Message {
	msg := jobs.NotifyNextMessage{Timestamp: now}
	if head := ts.head(); head != nil {
		msg.Execution = head.wire(true)
	}
	body, _ := json.Marshal(msg)
	return Message{Topic: jobs.NotifyNextTopic(ts.name).String(), Payload: body}
}

// writeThing runs fn as a device-side writer of one thing: with opsMu
// shared and the thing's write lock held. ts is nil when the engine knows no
// execution of the thing; as only control-plane writes add executions, it
// stays nil until fn returns.
func (e *Engine) writeThing(thing string, fn func(ts *thingState) error) error {
	e.opsMu.RLock()
	defer e.opsMu.RUnlock()
	if e.closed {
		return errClosed
	}
	e.stateMu.RLock()
	ts := e.things[thing]
	e.stateMu.RUnlock()
	if ts != nil {
		ts.mu.Lock()
		defer ts.mu.Unlock()
	}
	return fn(ts)
}
