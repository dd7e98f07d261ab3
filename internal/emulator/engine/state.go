package engine

import (
	"cmp"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/clock"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// job is a job in memory: its stored record plus indexes rebuilt on load.
type job struct {
	store.JobRecord
	// execs are the job's executions sorted by thing name, the order of
	// ListJobExecutionsForJob and its page tokens.
	execs []*execution
	// things counts the job's things by the status of their latest
	// execution. A pending execution is always its thing's latest (a retry
	// or a new execution follows only an ended one), so these counts also
	// tell whether anything is pending.
	things map[jobs.Status]int
	// lastTerminalAt is when the latest execution became terminal: the
	// completedAt of a job whose executions have all finished.
	lastTerminalAt int64
	// rolloutTimer creates the next batch of a paced rollout.
	rolloutTimer clock.Timer
	// abortCheck is set while a check of the abort criteria waits.
	abortCheck atomic.Bool
}

// status derives the job status; see store.JobRecord. A continuous job
// runs until it is canceled.
func (j *job) status() iotapi.JobStatus {
	switch {
	case j.Canceled:
		return iotapi.JobCanceled
	case j.continuous(), len(j.Waiting) > 0, j.things[jobs.StatusQueued]+j.things[jobs.StatusInProgress] > 0:
		return iotapi.JobInProgress
	}
	return iotapi.JobCompleted
}

func (j *job) continuous() bool { return j.TargetSelection == iotapi.TargetSelectionContinuous }

// targetSelection is the job's, SNAPSHOT unless set.
func (j *job) targetSelection() string {
	if j.continuous() {
		return iotapi.TargetSelectionContinuous
	}
	return iotapi.TargetSelectionSnapshot
}

// countThings counts the job's things by the status of their latest
// execution, from scratch (on load).
func (j *job) countThings() {
	j.things = map[jobs.Status]int{}
	for i, x := range j.execs {
		if i+1 == len(j.execs) || j.execs[i+1].Thing != x.Thing {
			j.things[x.Status]++
		}
	}
}

// thingMoved moves a thing between the counts of things: its latest
// execution was in status from and is now in status to ("" for none).
func (j *job) thingMoved(from, to jobs.Status) {
	if from != "" {
		j.things[from]--
	}
	if to != "" {
		j.things[to]++
	}
}

// latestStatus is the status of the thing's latest execution of the job,
// "" when it has none.
func (t *thingState) latestStatus(jobID string) jobs.Status {
	xs := t.execs[jobID]
	if len(xs) == 0 {
		return ""
	}
	return xs[len(xs)-1].Status
}

// retried counts the executions that are retries: those that follow a
// failed one of the job on the same thing.
func (j *job) retried() int64 {
	n := int64(0)
	for i := 1; i < len(j.execs); i++ {
		if prev := j.execs[i-1]; prev.Thing == j.execs[i].Thing && iotapi.FailureTypeOf(prev.Status) != "" {
			n++
		}
	}
	return n
}

func (j *job) completedAt() int64 {
	switch j.status() {
	case iotapi.JobCanceled:
		return j.CanceledAt
	case iotapi.JobCompleted:
		return max(j.lastTerminalAt, j.CreatedAt)
	}
	return 0
}

// compareExecs orders a job's executions by thing, then number: the order
// of ListJobExecutionsForJob and its page tokens.
func compareExecs(a, b *execution) int {
	return cmp.Or(strings.Compare(a.Thing, b.Thing), cmp.Compare(a.ExecutionNumber, b.ExecutionNumber))
}

func (j *job) sortExecs() { slices.SortFunc(j.execs, compareExecs) }

// insertExec files x in j.execs, in order.
func (j *job) insertExec(x *execution) {
	i, _ := slices.BinarySearchFunc(j.execs, x, compareExecs)
	j.execs = slices.Insert(j.execs, i, x)
}

func (j *job) removeExec(x *execution) {
	if i, ok := slices.BinarySearchFunc(j.execs, x, compareExecs); ok {
		j.execs = slices.Delete(j.execs, i, i+1)
	}
}

// noteEnded notes when x became terminal, if it is.
func (j *job) noteEnded(x *execution) {
	if x.Status.Terminal() {
		j.lastTerminalAt = max(j.lastTerminalAt, x.LastUpdatedAt)
	}
}

// execution is an execution in memory. Its record is replaced as a whole,
// and maps in it are never modified in place, so a reply built from one
// may share them.
type execution struct {
	store.ExecRecord
	job *job
	// timer is the armed expiry of the earlier of the two deadlines.
	timer clock.Timer
}

// deadline is when the execution times out: the earlier of its timers, as
// the step timer cannot extend beyond the in-progress timer. 0 means never.
func deadline(r *store.ExecRecord) int64 {
	switch {
	case r.StepDeadline == 0:
		return r.InProgressDeadline
	case r.InProgressDeadline == 0:
		return r.StepDeadline
	}
	return min(r.StepDeadline, r.InProgressDeadline)
}

// queueKey orders a thing's pending executions: IN_PROGRESS first, then
// QUEUED, each by queuedAt, then by job creation order.
type queueKey struct {
	queued   bool
	queuedAt int64
	seq      uint64
}

func (x *execution) queueKey() queueKey {
	return queueKey{queued: x.Status == jobs.StatusQueued, queuedAt: x.QueuedAt, seq: x.job.Seq}
}

func (a queueKey) less(b queueKey) bool {
	if a.queued != b.queued {
		return !a.queued
	}
	if a.queuedAt != b.queuedAt {
		return a.queuedAt < b.queuedAt
	}
	return a.seq < b.seq
}

// thingState is what the engine knows of one thing: its executions, and
// the pending ones in queue order.
type thingState struct {
	name string
	// execs are by job id, each job's by execution number: the latest last.
	execs   map[string][]*execution
	pending []*execution
}

// add files x among the thing's executions of its job.
func (t *thingState) add(x *execution) {
	xs := t.execs[x.JobID]
	i, _ := slices.BinarySearchFunc(xs, x.ExecutionNumber, func(y *execution, n int64) int { return cmp.Compare(y.ExecutionNumber, n) })
	t.execs[x.JobID] = slices.Insert(xs, i, x)
}

func (t *thingState) remove(x *execution) {
	xs := slices.DeleteFunc(t.execs[x.JobID], func(y *execution) bool { return y == x })
	if len(xs) == 0 {
		delete(t.execs, x.JobID)
	} else {
		t.execs[x.JobID] = xs
	}
}

// execution is number of the job on the thing, nil if there is none.
func (t *thingState) execution(jobID string, number int64) *execution {
	for _, x := range t.execs[jobID] {
		if x.ExecutionNumber == number {
			return x
		}
	}
	return nil
}

// lookup is the one way to find the execution a request names: number of
// the job on the thing, or the latest when number is nil; nil when there is
// none. stateMu is held.
func (e *Engine) lookup(thing, jobID string, number *int64) *execution {
	t := e.things[thing]
	if t == nil {
		return nil
	}
	if number != nil {
		return t.execution(jobID, *number)
	}
	xs := t.execs[jobID]
	if len(xs) == 0 {
		return nil
	}
	return xs[len(xs)-1]
}

func (t *thingState) head() *execution {
	if len(t.pending) == 0 {
		return nil
	}
	return t.pending[0]
}

func (t *thingState) pendingIndex(k queueKey) int {
	return sort.Search(len(t.pending), func(i int) bool { return !t.pending[i].queueKey().less(k) })
}

func (t *thingState) removePending(x *execution) {
	i := t.pendingIndex(x.queueKey())
	if i < len(t.pending) && t.pending[i] == x {
		t.pending = slices.Delete(t.pending, i, i+1)
	}
}

func (t *thingState) insertPending(x *execution) {
	t.pending = slices.Insert(t.pending, t.pendingIndex(x.queueKey()), x)
}

// unixSeconds renders a stored time for MQTT, where unset stays 0 so that
// omitempty leaves it out.
func unixSeconds(nanos int64) int64 {
	if nanos == 0 {
		return 0
	}
	return time.Unix(0, nanos).Unix()
}

// wire is the execution as sent over MQTT.
func (x *execution) wire(includeDocument bool) *jobs.JobExecution {
	w := &jobs.JobExecution{
		JobID:           x.JobID,
		Status:          x.Status,
		StatusDetails:   x.StatusDetails,
		QueuedAt:        unixSeconds(x.QueuedAt),
		StartedAt:       unixSeconds(x.StartedAt),
		LastUpdatedAt:   unixSeconds(x.LastUpdatedAt),
		VersionNumber:   x.VersionNumber,
		ExecutionNumber: x.ExecutionNumber,
	}
	if includeDocument {
		w.JobDocument = json.RawMessage(x.job.Document)
	}
	return w
}

func stateOf(r *store.ExecRecord) *jobs.JobExecutionState {
	return &jobs.JobExecutionState{Status: r.Status, StatusDetails: r.StatusDetails, VersionNumber: r.VersionNumber}
}

func (x *execution) summary() jobs.JobExecutionSummary {
	return jobs.JobExecutionSummary{
		JobID:           x.JobID,
		QueuedAt:        unixSeconds(x.QueuedAt),
		StartedAt:       unixSeconds(x.StartedAt),
		LastUpdatedAt:   unixSeconds(x.LastUpdatedAt),
		VersionNumber:   x.VersionNumber,
		ExecutionNumber: x.ExecutionNumber,
	}
}

// listed is the thing's pending executions as the lists show them: the
// first jobs.MaxPendingListed, split by status.
func (t *thingState) listed() (inProgress, queued []jobs.JobExecutionSummary) {
	inProgress, queued = []jobs.JobExecutionSummary{}, []jobs.JobExecutionSummary{}
	if t == nil {
		return inProgress, queued
	}
	for _, x := range t.pending[:min(len(t.pending), jobs.MaxPendingListed)] {
		if x.Status == jobs.StatusInProgress {
			inProgress = append(inProgress, x.summary())
		} else {
			queued = append(queued, x.summary())
		}
	}
	return inProgress, queued
}
