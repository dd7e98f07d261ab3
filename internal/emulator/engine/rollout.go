package engine

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// Rollouts: a job's executions are created as its rollout configuration
// allows, in batches at the start of each emulated minute; its abort
// criteria cancel it when too many of its things fail; its retry criteria
// queue a failed execution again under the next execution number.

// rolloutRate is how many things the job may notify per emulated minute
// now, 0 when it is not paced. An exponential rate is multiplied by its
// factor once for every full increment of notified (or succeeded) things,
// and never exceeds maximumPerMinute when both are given.
func rolloutRate(r *store.JobRecord, succeeded int) int64 {
	c := r.Rollout
	if c == nil {
		return 0
	}
	if c.ExponentialRate == nil {
		return *c.MaximumPerMinute
	}
	x := c.ExponentialRate
	count, every := r.Notified, int64(1)
	if n := x.RateIncreaseCriteria.NumberOfNotifiedThings; n != nil {
		every = *n
	} else {
		count, every = int64(succeeded), *x.RateIncreaseCriteria.NumberOfSucceededThings
	}
	limit := float64(iotapi.MaxRolloutPerMinute)
	if c.MaximumPerMinute != nil {
		limit = float64(*c.MaximumPerMinute)
	}
	rate := float64(x.BaseRatePerMinute) * math.Pow(x.IncrementFactor, float64(count/every))
	return int64(math.Min(math.Floor(rate), limit))
}

// releaseLocked notifies the things of r.Waiting that its rollout allows
// now: it queues an execution for each (the next execution number of the
// job on the thing) into m and keeps the rest waiting. A new window (a
// tick) starts a new rollout minute. stateMu is held for reading.
func (e *Engine) releaseLocked(r *store.JobRecord, succeeded int, newWindow bool, now time.Time, m *mutation) {
	quota := int64(len(r.Waiting))
	if rate := rolloutRate(r, succeeded); rate > 0 {
		if newWindow || now.UnixNano() >= r.WindowStart+int64(e.clock.Minute) {
			r.WindowStart, r.WindowCount = now.UnixNano(), 0
		}
		quota = min(quota, max(0, rate-r.WindowCount))
	}
	for _, thing := range r.Waiting[:quota] {
		m.execs = append(m.execs, change(queued(r.ID, thing, e.nextNumberLocked(thing, r.ID), now), CauseCreated))
	}
	r.Waiting = slices.Clip(r.Waiting[quota:])
	if len(r.Waiting) == 0 {
		r.Waiting = nil
	}
	r.Notified += quota
	r.WindowCount += quota
}

// nextNumberLocked is the execution number a new execution of the job on
// the thing gets: one more than its latest, 1 for the first.
func (e *Engine) nextNumberLocked(thing, jobID string) int64 {
	if x := e.lookup(thing, jobID, nil); x != nil {
		return x.ExecutionNumber + 1
	}
	return 1
}

// armRolloutLocked (re)arms the job's rollout timer for the start of its
// next rollout minute while things wait; stateMu is held for writing.
func (e *Engine) armRolloutLocked(j *job) {
	stop(&j.rolloutTimer)
	if !e.started || j.Canceled || len(j.Waiting) == 0 {
		return
	}
	id := j.ID
	j.rolloutTimer = e.clock.AfterFunc(time.Duration(j.WindowStart+int64(e.clock.Minute)-e.clock.Now().UnixNano()), func() {
		e.rolloutTick(id)
	})
}

// rolloutTick starts a rollout minute of the job: the next batch of its
// waiting things is notified.
func (e *Engine) rolloutTick(jobID string) {
	err := e.controlPlan(func(now time.Time) (*mutation, error) {
		j := e.jobs[jobID]
		if j == nil || j.Canceled || len(j.Waiting) == 0 {
			return nil, nil
		}
		rec := j.JobRecord
		m := &mutation{jobs: []*store.JobRecord{&rec}}
		e.releaseLocked(&rec, j.things[jobs.StatusSucceeded], true, now, m)
		return m, nil
	})
	if err != nil {
		// The timer is not re-armed: the next start of the engine arms it.
		if !closedError(err) {
			e.log.Error("roll out the next batch", "job", jobID, "err", err)
		}
		return
	}
	e.stateMu.RLock()
	if j := e.jobs[jobID]; j != nil && j.Abort != nil {
		e.scheduleAbortCheck(j)
	}
	e.stateMu.RUnlock()
}

// abortCrossed is the first of the job's abort criteria that its things
// now meet, nil if none: at least minNumberOfExecutedThings things
// notified, and thresholdPercentage of them (at least one) with a latest
// execution of the failure type. stateMu is held.
func (j *job) abortCrossed() *iotapi.AbortCriteria {
	if j.Abort == nil || j.Notified == 0 {
		return nil
	}
	failures := map[string]int64{}
	for _, status := range []jobs.Status{jobs.StatusFailed, jobs.StatusRejected, jobs.StatusTimedOut} {
		n := int64(j.things[status])
		failures[string(status)] = n
		failures[iotapi.FailureAll] += n
	}
	for _, c := range j.Abort.CriteriaList {
		n := failures[c.FailureType]
		if j.Notified >= c.MinNumberOfExecutedThings && n > 0 && float64(n)*100 >= c.ThresholdPercentage*float64(j.Notified) {
			return &c
		}
	}
	return nil
}

// The reason code of a job its abort criteria canceled.
const abortReasonCode = "ABORTED_BY_ABORT_CONFIG"

// checkAbort cancels the job, as CancelJob without force does, once one
// of its abort criteria is met.
func (e *Engine) checkAbort(jobID string) {
	var crossed *iotapi.AbortCriteria
	err := e.controlPlan(func(now time.Time) (*mutation, error) {
		j := e.jobs[jobID]
		if j == nil {
			return nil, nil
		}
		j.abortCheck.Store(false) // a failure from now on schedules another check
		if j.status() != iotapi.JobInProgress {
			return nil, nil // a job that has finished is not aborted
		}
		if crossed = j.abortCrossed(); crossed == nil {
			return nil, nil
		}
		rec, execs := j.cancelLocked(false, CauseAborted, now)
		rec.AbortedBy = crossed
		rec.ReasonCode = abortReasonCode
		rec.Comment = fmt.Sprintf("Aborted by the job's abort configuration: %s executions reached %v%% of %d things notified (at least %d)",
			crossed.FailureType, crossed.ThresholdPercentage, rec.Notified, crossed.MinNumberOfExecutedThings)
		return &mutation{jobs: []*store.JobRecord{rec}, execs: execs}, nil
	})
	switch {
	case err != nil && !closedError(err):
		e.log.Error("check the abort criteria", "job", jobID, "err", err)
	case err == nil && crossed != nil:
		e.log.Info("job aborted", "job", jobID, "failureType", crossed.FailureType, "thresholdPercentage", crossed.ThresholdPercentage)
	}
}

// cancelLocked is the job canceled as of now: its record, and the
// cancellation of its QUEUED executions (and IN_PROGRESS ones with force).
// Things still waiting for the rollout are never notified. stateMu is
// held.
func (j *job) cancelLocked(force bool, cause Cause, now time.Time) (*store.JobRecord, []execChange) {
	rec := j.JobRecord
	var execs []execChange
	for _, x := range j.execs {
		if x.Status == jobs.StatusQueued || (force && x.Status == jobs.StatusInProgress) {
			execs = append(execs, change(canceled(x.ExecRecord, force, nil, now), cause))
		}
	}
	rec.Canceled = true
	rec.ForceCanceled = rec.ForceCanceled || force
	rec.Waiting = nil
	if rec.CanceledAt == 0 {
		rec.CanceledAt = now.UnixNano()
	}
	rec.LastUpdatedAt = now.UnixNano()
	return &rec, execs
}

// retryLocked is the execution that retries x, which next ends, under the
// job's retry criteria; nil when they allow none. A criterion for the
// failure type (FAILED, TIMED_OUT) counts the thing's earlier failures of
// that type; otherwise an ALL criterion counts all of them. REJECTED is
// never retried, nor is anything of a canceled job. stateMu is held.
func (e *Engine) retryLocked(x *execution, next *store.ExecRecord, now time.Time) *store.ExecRecord {
	j := x.job
	ft := iotapi.FailureTypeOf(next.Status)
	if j.Retry == nil || j.Canceled || ft == "" || ft == iotapi.FailureRejected {
		return nil
	}
	specific, all := int64(-1), int64(-1)
	for _, c := range j.Retry.CriteriaList {
		switch c.FailureType {
		case ft:
			specific = c.NumberOfRetries
		case iotapi.FailureAll:
			all = c.NumberOfRetries
		}
	}
	var same, any int64
	for _, y := range e.things[x.Thing].execs[x.JobID] {
		if y == x {
			continue
		}
		if t := iotapi.FailureTypeOf(y.Status); t == iotapi.FailureFailed || t == iotapi.FailureTimedOut {
			any++
			if t == ft {
				same++
			}
		}
	}
	switch {
	case specific >= 0 && same >= specific, specific < 0 && (all < 0 || any >= all):
		return nil
	}
	return queued(x.JobID, x.Thing, e.nextNumberLocked(x.Thing, x.JobID), now)
}

// commitEnding commits next, a device's or a timer's change of x, with the
// retry of x that the job's criteria allow when next is a failure, then
// has the job's abort criteria checked. The caller is a writer of x's
// thing.
func (e *Engine) commitEnding(x *execution, next *store.ExecRecord, cause Cause, now time.Time) error {
	m := &mutation{execs: []execChange{change(next, cause)}}
	e.stateMu.RLock()
	if retry := e.retryLocked(x, next, now); retry != nil {
		m.execs = append(m.execs, change(retry, CauseRetried))
	}
	abort := x.job.Abort != nil && iotapi.FailureTypeOf(next.Status) != ""
	e.stateMu.RUnlock()
	if err := e.commit(m); err != nil {
		return err
	}
	if abort {
		e.scheduleAbortCheck(x.job)
	}
	return nil
}

// scheduleAbortCheck has the job's abort criteria checked soon, off the
// writer's path: at most one check waits per job, however many failures
// come meanwhile, as each check sees them all.
func (e *Engine) scheduleAbortCheck(j *job) {
	if j.abortCheck.CompareAndSwap(false, true) {
		go e.checkAbort(j.ID)
	}
}

// RolloutState returns the emulator's view of the job's rollout.
func (e *Engine) RolloutState(jobID string) (iotapi.RolloutState, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	j := e.jobs[jobID]
	if j == nil {
		return iotapi.RolloutState{}, notFound("No job with id %s", jobID)
	}
	out := iotapi.RolloutState{
		JobID: j.ID, RatePerMinute: rolloutRate(&j.JobRecord, j.things[jobs.StatusSucceeded]),
		Notified: j.Notified, Waiting: int64(len(j.Waiting)), Aborted: j.AbortedBy, Retried: j.retried(),
	}
	if len(j.Waiting) > 0 && !j.Canceled {
		out.NextAt = timeOf(j.WindowStart + int64(e.clock.Minute))
	}
	return out, nil
}
