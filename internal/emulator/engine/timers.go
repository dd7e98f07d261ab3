package engine

import (
	"errors"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/clock"
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
	thing, jobID, number := x.Thing, x.JobID, x.ExecutionNumber
	x.timer = e.clock.AfterFunc(time.Duration(at-e.clock.Now().UnixNano()), func() {
		e.expire(thing, jobID, number, at)
	})
}

func disarm(x *execution) { stop(&x.timer) }

// stop stops the timer t holds, if any.
func stop(t *clock.Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

// expire times the execution out if it still has the deadline that fired.
func (e *Engine) expire(thing, jobID string, number, at int64) {
	err := e.writeThing(thing, func() error {
		e.stateMu.RLock()
		x := e.lookup(thing, jobID, &number)
		current := x != nil && x.Status == jobs.StatusInProgress && deadline(&x.ExecRecord) == at
		var cur store.ExecRecord
		if current {
			cur = x.ExecRecord
		}
		e.stateMu.RUnlock()
		if !current {
			return nil
		}
		now := e.clock.Now()
		if err := e.commitEnding(x, timedOut(cur, now), CauseTimedOut, now); err != nil {
			return err
		}
		e.log.Info("execution timed out", "thing", thing, "job", jobID, "execution", number)
		return nil
	})
	if err != nil && !errors.Is(err, errClosed) {
		// The execution stays IN_PROGRESS past its deadline; the next Start
		// (after a restart) fires the timer again.
		e.log.Error("time out execution", "thing", thing, "job", jobID, "err", err)
	}
}
