package engine

import (
	"log/slog"
	"sync"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// Event is one committed state change, as the apply step saw it. The
// notifications are rendered from events, and so can anything else that
// follows the engine (events topics, rollouts, live views): see Subscribe.
type Event interface{ event() }

// Cause is what made an execution change.
type Cause string

// The causes of an execution's change.
const (
	CauseCreated      Cause = "created"       // a job queued it
	CauseDeviceUpdate Cause = "device-update" // start-next or update
	CauseCanceled     Cause = "canceled"      // CancelJob or CancelJobExecution
	CauseTimedOut     Cause = "timed-out"     // its step or in-progress timer
	CauseDeleted      Cause = "deleted"       // DeleteJob or DeleteJobExecution
	CauseRemoved      Cause = "removed"       // its thing left the groups of a continuous job
	CauseRetried      Cause = "retried"       // a retry of a failed execution queued it
	CauseAborted      Cause = "aborted"       // the job's abort criteria canceled it
)

// ExecutionChanged: an execution was created (Before is nil), changed, or
// removed (After is nil).
type ExecutionChanged struct {
	Thing, JobID    string
	ExecutionNumber int64
	Cause           Cause
	Before, After   *jobs.JobExecutionState
	At              time.Time
}

// QueueChanged: a thing's pending executions changed. SetChanged says an
// execution joined or left the pending set (notify), HeadChanged that the
// head of the queue is another execution (notify-next). InProgress, Queued
// and Head are the queue after the change, as the notifications show it.
type QueueChanged struct {
	Thing                   string
	SetChanged, HeadChanged bool
	InProgress, Queued      []jobs.JobExecutionSummary
	Head                    *jobs.JobExecution // nil when nothing is pending
	At                      time.Time
}

// JobChanged: a job was created, changed status, or was deleted. Job is
// the job as DescribeJob showed it just after the change (just before, for
// a deletion).
type JobChanged struct {
	JobID   string
	Status  iotapi.JobStatus
	Deleted bool
	Job     *iotapi.Job
	At      time.Time
}

func (ExecutionChanged) event() {}
func (QueueChanged) event()     {}
func (JobChanged) event()       {}

// eventBatches bounds what a subscription may have waiting, in commits.
const eventBatches = 4096

// Subscribe hands fn the events of every commit from now on, one commit's
// batch at a time, in commit order, on a goroutine of the subscription's
// own. A subscription that falls eventBatches commits behind loses the
// newest ones (and a warning says how many) rather than hold a writer up.
// fn must not call back into the engine's writers.
func (e *Engine) Subscribe(name string, fn func([]Event)) {
	s := &subscription{name: name, fn: fn, log: e.log}
	s.cond = sync.NewCond(&s.mu)
	s.stopped = make(chan struct{})
	go s.run()
	e.stateMu.Lock()
	e.subs = append(e.subs, s)
	e.stateMu.Unlock()
}

// Drain waits until every subscription has handled the events committed
// before the call.
func (e *Engine) Drain() {
	e.stateMu.RLock()
	subs := e.subs
	e.stateMu.RUnlock()
	for _, s := range subs {
		s.drain()
	}
}

// publishLocked hands a commit's events to every subscription; stateMu is
// held, which orders the commits.
func (e *Engine) publishLocked(events []Event) {
	if len(events) == 0 {
		return
	}
	for _, s := range e.subs {
		s.push(events)
	}
}

type subscription struct {
	name string
	fn   func([]Event)
	log  *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond // signals pushes, handled batches and closing
	queue   [][]Event
	pushed  uint64 // batches pushed, dropped ones included
	handled uint64 // batches handled or dropped
	lost    int    // batches dropped since the last warning
	closing bool
	stopped chan struct{}
}

func (s *subscription) push(events []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return
	}
	s.pushed++
	if len(s.queue) >= eventBatches {
		s.lost++
		s.handled++
	} else {
		s.queue = append(s.queue, events)
	}
	s.cond.Broadcast()
}

func (s *subscription) run() {
	defer close(s.stopped)
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for len(s.queue) == 0 && !s.closing {
			s.cond.Wait()
		}
		if len(s.queue) == 0 {
			return
		}
		batch := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		lost := s.lost
		s.lost = 0
		s.mu.Unlock()
		if lost > 0 {
			s.log.Warn("subscriber fell behind; the events of some commits were dropped", "subscriber", s.name, "commits", lost)
		}
		s.fn(batch)
		s.mu.Lock()
		s.handled++
		s.cond.Broadcast()
	}
}

func (s *subscription) drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.pushed
	for s.handled < target {
		s.cond.Wait()
	}
}

// close hands over what is queued, then stops the subscription.
func (s *subscription) close() {
	s.mu.Lock()
	s.closing = true
	s.cond.Broadcast()
	s.mu.Unlock()
	<-s.stopped
}

// renderNotifications is the subscriber that turns queue changes into the
// notify and notify-next publications.
func renderNotifications(send func(Message)) func([]Event) {
	return func(events []Event) {
		for _, ev := range events {
			q, ok := ev.(QueueChanged)
			if !ok {
				continue
			}
			if q.SetChanged {
				send(notifyMessage(q))
			}
			if q.HeadChanged {
				send(notifyNextMessage(q))
			}
		}
	}
}

func notifyMessage(q QueueChanged) Message {
	msg := jobs.NotifyMessage{Timestamp: q.At.Unix(), Jobs: map[jobs.Status][]jobs.JobExecutionSummary{}}
	if len(q.InProgress) > 0 {
		msg.Jobs[jobs.StatusInProgress] = q.InProgress
	}
	if len(q.Queued) > 0 {
		msg.Jobs[jobs.StatusQueued] = q.Queued
	}
	body, _ := jobs.Encode(msg)
	return Message{Topic: jobs.NotifyTopic(q.Thing).String(), Payload: body}
}

func notifyNextMessage(q QueueChanged) Message {
	body, _ := jobs.Encode(jobs.NotifyNextMessage{Timestamp: q.At.Unix(), Execution: q.Head})
	return Message{Topic: jobs.NotifyNextTopic(q.Thing).String(), Payload: body}
}
