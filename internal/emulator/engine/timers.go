package engine

import (
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// armLocked (re)arms x's timer for its current deadline, or leaves it
// disarmed when none runs or the engine is not started; stateMu is held for
// writing. The timer only carries the deadline it was armed for, so one that
// fires after its execution moved on finds a different deadline and does
// nothing.
func (e *Engine) armLocked(x *execution) {
	disarm(x)
	at := deadline(&x.ExecRecord)
	if !e.started || at == 0 || x.Status != jobs.StatusInProgress {
		return
	}
	thing, jobID := x.Thing, x.JobID
	x.timer = e.clock.AfterFunc(time.Duration(at-e.clock.Now().UnixNano()), func() {
		e.expire(thing, jobID, at)
	})
}

func disarm(x *execution) {
	if x.timer != nil {
		x.timer.Stop()
		x.timer = nil
	}
}

// expire times the execution out if it still has the deadline that fired.
func (e *Engine) expire(thing, jobID string, at int64) {
	err := e.writeThing(thing, func(ts *thingState) error {
		if ts == nil {
			return nil
		}
		e.stateMu.RLock()
		x := ts.execs[jobID]
		current := x != nil && x.Status == jobs.StatusInProgress && deadline(&x.ExecRecord) == at
		var next store.ExecRecord
		if current {
			next = x.ExecRecord
		}
		e.stateMu.RUnlock()
		if !current {
			return nil
		}
		// versionNumber counts device updates only; the service's own
		// transitions (timeout, cancel) leave it as it is.
		next.Status = jobs.StatusTimedOut
		next.LastUpdatedAt = e.clock.Now().UnixNano()
		next.StepDeadline, next.InProgressDeadline = 0, 0
		if err := e.commit(&mutation{execs: []execChange{{thing: thing, jobID: jobID, next: &next}}}); err != nil {
			return err
		}
		e.log.Info("execution timed out", "thing", thing, "job", jobID)
		return nil
	})
	if err != nil && err != errClosed {
		// The execution stays IN_PROGRESS past its deadline; the next Start
		// (after a restart) fires the timer again.
		e.log.Error("time out execution", "thing", thing, "job", jobID, "err", err)
	}
}
