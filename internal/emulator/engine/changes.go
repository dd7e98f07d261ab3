package engine

import (
	"cmp"
	"slices"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// A change of state is built by one function per cause (queued,
// deviceUpdate, canceled, timedOut; deletion needs none), committed to the
// store, then applied to memory, which yields the events.

// execChange writes execution number of the job on the thing (next !=
// nil) or deletes it.
type execChange struct {
	thing, jobID string
	number       int64
	next         *store.ExecRecord
	cause        Cause
}

// mutation is one atomic change of the state.
type mutation struct {
	jobs      []*store.JobRecord // written
	deleteJob string             // the job deleted (its executions are in execs)
	execs     []execChange
	// The registry: records written and names deleted.
	things       []*store.ThingRecord
	deleteThings []string
	groups       []*store.GroupRecord
	deleteGroups []string
}

// change is the execChange that stores r, for cause.
func change(r *store.ExecRecord, cause Cause) execChange {
	return execChange{thing: r.Thing, jobID: r.JobID, number: r.ExecutionNumber, next: r, cause: cause}
}

// removal is the execChange that deletes x.
func removal(x *execution) execChange {
	return execChange{thing: x.Thing, jobID: x.JobID, number: x.ExecutionNumber, cause: CauseDeleted}
}

// queued is a new execution of the job on the thing.
func queued(jobID, thing string, number int64, now time.Time) *store.ExecRecord {
	at := now.UnixNano()
	return &store.ExecRecord{
		JobID: jobID, Thing: thing, Status: jobs.StatusQueued, ExecutionNumber: number, VersionNumber: 1,
		QueuedAt: at, LastUpdatedAt: at,
	}
}

// deviceUpdate is r after an accepted device update to status. Given
// statusDetails replace the stored ones as a whole; omitted ones leave them
// unchanged ("If not specified, the statusDetails are unchanged").
func (e *Engine) deviceUpdate(r store.ExecRecord, j *job, status jobs.Status, details map[string]string, stepMinutes *int64, now time.Time) *store.ExecRecord {
	at := now.UnixNano()
	if r.Status == jobs.StatusQueued && status == jobs.StatusInProgress {
		r.StartedAt = at
		if j.InProgressTimeout > 0 {
			r.InProgressDeadline = at + int64(e.clock.Minutes(j.InProgressTimeout))
		}
	}
	r.Status = status
	if details != nil {
		r.StatusDetails = details
		if len(details) == 0 {
			r.StatusDetails = nil
		}
	}
	if stepMinutes != nil {
		r.StepDeadline = 0
		if *stepMinutes != jobs.CancelStepTimeout {
			r.StepDeadline = at + int64(e.clock.Minutes(*stepMinutes))
		}
	}
	if status.Terminal() {
		r.StepDeadline, r.InProgressDeadline = 0, 0
	}
	r.VersionNumber++
	r.LastUpdatedAt = at
	return &r
}

// canceled is r canceled by the service. versionNumber counts device
// updates only, so it stays, as it does for every change of the service's.
func canceled(r store.ExecRecord, force bool, details map[string]string, now time.Time) *store.ExecRecord {
	r.Status = jobs.StatusCanceled
	r.ForceCanceled = force
	if details != nil {
		r.StatusDetails = details
	}
	return serviceEnded(r, now)
}

// timedOut is r timed out by its step or in-progress timer.
func timedOut(r store.ExecRecord, now time.Time) *store.ExecRecord {
	r.Status = jobs.StatusTimedOut
	return serviceEnded(r, now)
}

// serviceEnded stops r's timers as of now.
func serviceEnded(r store.ExecRecord, now time.Time) *store.ExecRecord {
	r.StepDeadline, r.InProgressDeadline = 0, 0
	r.LastUpdatedAt = now.UnixNano()
	return &r
}

// commit persists m and only then applies it to memory and hands its events
// to the subscriptions, so nothing is visible or announced that a crash
// could undo. The caller holds opsMu exclusively, or shared plus the stripe
// lock of the one thing m touches.
func (e *Engine) commit(m *mutation) error {
	puts := make([]store.Put, 0, len(m.execs)+len(m.jobs)+1)
	for _, r := range m.jobs {
		puts = append(puts, store.PutJob(r))
	}
	if m.deleteJob != "" {
		puts = append(puts, store.DeleteJob(m.deleteJob))
	}
	for _, r := range m.groups {
		puts = append(puts, store.PutGroup(r))
	}
	for _, name := range m.deleteGroups {
		puts = append(puts, store.DeleteGroup(name))
	}
	for _, r := range m.things {
		puts = append(puts, store.PutThing(r))
	}
	for _, name := range m.deleteThings {
		puts = append(puts, store.DeleteThing(name))
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
	e.publishLocked(e.applyLocked(m))
	e.stateMu.Unlock()
	return nil
}

// insertInPlace is the most executions a commit may add for them to be
// inserted one by one into their job's sorted list; more are appended and
// the list sorted once.
const insertInPlace = 16

// applyLocked applies a committed mutation to memory and returns its
// events: what changed of each execution, of each thing's queue (notify
// when an execution joins or leaves the pending set, notify-next when the
// head of the queue is another execution than before, not when the head
// only changes status or details), and of each job's status.
func (e *Engine) applyLocked(m *mutation) []Event {
	now := e.clock.Now()
	events := make([]Event, 0, 2*len(m.execs)+1)
	// jobsBefore holds the status of each job the mutation touches, before.
	jobsBefore := map[*job]iotapi.JobStatus{}
	touch := func(j *job) {
		if _, seen := jobsBefore[j]; !seen {
			jobsBefore[j] = j.status()
		}
	}
	var deleted *iotapi.Job // the deleted job as it was
	if j := e.jobs[m.deleteJob]; j != nil {
		view := j.describe()
		deleted = &view
	}
	e.applyRegistryLocked(m)
	for _, r := range m.jobs {
		j := e.jobs[r.ID]
		if j == nil {
			j = &job{things: map[jobs.Status]int{}}
			e.jobs[r.ID] = j
			e.jobList = append(e.jobList, j)
			e.lastSeq = max(e.lastSeq, r.Seq)
			jobsBefore[j] = "" // new
		} else {
			touch(j)
		}
		j.JobRecord = *r
		e.armRolloutLocked(j)
	}
	sortJobs := map[*job]bool{}
	for _, c := range m.execs {
		ts := e.thing(c.thing)
		head := ts.head()
		latestBefore := ts.latestStatus(c.jobID)
		x := ts.execution(c.jobID, c.number)
		var before *jobs.JobExecutionState
		wasPending := false
		if x != nil {
			before = stateOf(&x.ExecRecord)
			wasPending = x.Status.Pending()
			touch(x.job)
			if wasPending {
				ts.removePending(x)
			}
		}
		switch {
		case c.next == nil && x == nil:
			continue // nothing to delete
		case c.next == nil:
			ts.remove(x)
			if x.JobID != m.deleteJob {
				x.job.removeExec(x)
			}
			disarm(x)
		case x == nil:
			j := e.jobs[c.jobID]
			if j == nil {
				e.log.Error("an execution of no job was not applied", "thing", c.thing, "job", c.jobID)
				continue
			}
			touch(j)
			x = &execution{ExecRecord: *c.next, job: j}
			ts.add(x)
			if len(m.execs) <= insertInPlace {
				j.insertExec(x)
			} else {
				j.execs = append(j.execs, x)
				sortJobs[j] = true
			}
			j.noteEnded(x)
		default:
			x.ExecRecord = *c.next
			x.job.noteEnded(x)
		}
		var after *jobs.JobExecutionState
		isPending := c.next != nil && c.next.Status.Pending()
		if c.next != nil {
			after = stateOf(c.next)
			if isPending {
				ts.insertPending(x)
			}
			e.armLocked(x)
		}
		if j := e.jobs[c.jobID]; j != nil {
			j.thingMoved(latestBefore, ts.latestStatus(c.jobID))
		}
		events = append(events, ExecutionChanged{Thing: c.thing, JobID: c.jobID, ExecutionNumber: c.number,
			Cause: c.cause, Before: before, After: after, At: now})
		if q := (QueueChanged{Thing: c.thing, SetChanged: wasPending != isPending, HeadChanged: ts.head() != head, At: now}); q.SetChanged || q.HeadChanged {
			q.InProgress, q.Queued = ts.listed()
			if h := ts.head(); h != nil {
				q.Head = h.wire(true)
			}
			events = append(events, q)
		}
		if len(ts.execs) == 0 {
			delete(e.things, c.thing)
		}
	}
	for j := range sortJobs {
		j.sortExecs() // once per job: a job may queue many executions at once
	}
	if j := e.jobs[m.deleteJob]; j != nil {
		stop(&j.rolloutTimer)
		delete(e.jobs, j.ID)
		e.jobList = slices.DeleteFunc(e.jobList, func(other *job) bool { return other == j })
		events = append(events, JobChanged{JobID: j.ID, Status: jobsBefore[j], Deleted: true, Job: deleted, At: now})
		delete(jobsBefore, j)
	}
	changed := make([]*job, 0, len(jobsBefore))
	for j, before := range jobsBefore {
		if before != j.status() {
			changed = append(changed, j)
		}
	}
	slices.SortFunc(changed, func(a, b *job) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, j := range changed {
		view := j.describe()
		events = append(events, JobChanged{JobID: j.ID, Status: j.status(), Job: &view, At: now})
	}
	return events
}
