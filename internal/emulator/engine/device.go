package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The device API. Each operation decodes its request with the jobs.Decode*
// functions (InvalidJson, InvalidRequest) and returns the accepted payload or
// the rejection.

func (e *Engine) getPending(thing string, payload []byte, now time.Time) (any, *jobs.Rejection) {
	req, rej := jobs.DecodeGetPending(payload)
	if rej != nil {
		return nil, rej
	}
	e.stateMu.RLock()
	inProgress, queued := e.things[thing].listed()
	e.stateMu.RUnlock()
	return jobs.GetPendingResponse{
		InProgressJobs: inProgress, QueuedJobs: queued, Timestamp: now.Unix(), ClientToken: req.ClientToken,
	}, nil
}

// startNext starts the head of the queue when it is QUEUED. A head already
// IN_PROGRESS is returned as it is: neither its statusDetails nor its step
// timer change, as a start-next that changes nothing is no device update.
func (e *Engine) startNext(thing string, payload []byte, now time.Time) (any, *jobs.Rejection) {
	req, rej := jobs.DecodeStartNext(payload)
	if rej != nil {
		return nil, rej
	}
	resp := jobs.ExecutionResponse{Timestamp: now.Unix(), ClientToken: req.ClientToken}
	err := e.writeThing(thing, func(ts *thingState) error {
		if ts == nil {
			return nil
		}
		e.stateMu.RLock()
		head := ts.head()
		var cur store.ExecRecord
		if head != nil {
			cur = head.ExecRecord
			resp.Execution = head.wire(true)
		}
		e.stateMu.RUnlock()
		if head == nil || cur.Status != jobs.StatusQueued {
			return nil
		}
		next := e.deviceUpdate(cur, head.job, jobs.StatusInProgress, req.StatusDetails, req.StepTimeoutInMinutes, now)
		if err := e.commit(&mutation{execs: []execChange{{thing: thing, jobID: next.JobID, next: &next}}}); err != nil {
			return err
		}
		e.stateMu.RLock()
		resp.Execution = head.wire(true)
		e.stateMu.RUnlock()
		return nil
	})
	if err != nil {
		return nil, storeFailure(err)
	}
	return resp, nil
}

func (e *Engine) describe(thing, jobID string, payload []byte, now time.Time) (any, *jobs.Rejection) {
	req, rej := jobs.DecodeDescribe(payload)
	if rej != nil {
		return nil, rej
	}
	resp := jobs.ExecutionResponse{Timestamp: now.Unix(), ClientToken: req.ClientToken}
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	ts := e.things[thing]
	if jobID == jobs.NextJobID {
		if head := ts.headOrNil(); head != nil {
			resp.Execution = head.wire(req.IncludesJobDocument())
		}
		return resp, nil
	}
	x, rej := ts.find(jobID, req.ExecutionNumber)
	if rej != nil {
		return nil, rej
	}
	if x.Status.Terminal() {
		return nil, jobs.Reject(jobs.CodeTerminalStateReached,
			fmt.Sprintf("The execution of job %s on thing %s is in terminal state %s", jobID, thing, x.Status))
	}
	resp.Execution = x.wire(req.IncludesJobDocument())
	return resp, nil
}

// update checks expectedVersion before the transition: a device whose view
// is stale learns that first, with the state it needs to recover.
func (e *Engine) update(thing, jobID string, payload []byte, now time.Time) (any, *jobs.Rejection) {
	req, rej := jobs.DecodeUpdate(payload)
	if rej != nil {
		return nil, rej
	}
	resp := jobs.UpdateResponse{Timestamp: now.Unix(), ClientToken: req.ClientToken}
	err := e.writeThing(thing, func(ts *thingState) error {
		e.stateMu.RLock()
		x, notFound := ts.find(jobID, req.ExecutionNumber)
		var cur store.ExecRecord
		if x != nil {
			cur = x.ExecRecord
		}
		e.stateMu.RUnlock()
		if rej = notFound; rej != nil {
			return nil
		}
		if req.ExpectedVersion != nil && int64(*req.ExpectedVersion) != cur.VersionNumber {
			rej = &jobs.Rejection{Code: jobs.CodeVersionMismatch, State: stateOf(&cur),
				Message: fmt.Sprintf("expectedVersion %d does not match the current versionNumber %d", *req.ExpectedVersion, cur.VersionNumber)}
			return nil
		}
		if code := jobs.CheckDeviceTransition(cur.Status, req.Status); code != "" {
			rej = &jobs.Rejection{Code: code, State: stateOf(&cur), Message: transitionMessage(cur.Status, req.Status)}
			return nil
		}
		next := e.deviceUpdate(cur, x.job, req.Status, req.StatusDetails, req.StepTimeoutInMinutes, now)
		if err := e.commit(&mutation{execs: []execChange{{thing: thing, jobID: jobID, next: &next}}}); err != nil {
			return err
		}
		if req.IncludeJobExecutionState {
			resp.ExecutionState = stateOf(&next)
		}
		if req.IncludeJobDocument {
			resp.JobDocument = json.RawMessage(x.job.Document)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, storeFailure(err)
	case rej != nil:
		return nil, rej
	}
	return resp, nil
}

func transitionMessage(from, to jobs.Status) string {
	if from.Terminal() {
		return fmt.Sprintf("The execution is already in terminal state %s and cannot be updated", from)
	}
	if !to.DeviceSettable() {
		return fmt.Sprintf("A device cannot set status %s; it may set IN_PROGRESS, SUCCEEDED, FAILED or REJECTED", to)
	}
	return fmt.Sprintf("Cannot change the status from %s to %s", from, to)
}

// deviceUpdate is r after an accepted device update to status. Given
// statusDetails replace the stored ones as a whole; omitted ones leave them
// unchanged ("If not specified, the statusDetails are unchanged").
func (e *Engine) deviceUpdate(r store.ExecRecord, j *job, status jobs.Status, details map[string]string, stepMinutes *int64, now time.Time) store.ExecRecord {
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
	return r
}

// storeFailure is the rejection of a change that could not be committed.
func storeFailure(err error) *jobs.Rejection {
	return jobs.Reject(jobs.CodeInternalError, "The change could not be stored: "+err.Error())
}

func (t *thingState) headOrNil() *execution {
	if t == nil {
		return nil
	}
	return t.head()
}

// find is the execution a device request names; executionNumber nil means
// the latest. Callers hold stateMu.
func (t *thingState) find(jobID string, executionNumber *int64) (*execution, *jobs.Rejection) {
	var x *execution
	if t != nil {
		x = t.execs[jobID]
	}
	if x == nil || (executionNumber != nil && *executionNumber != x.ExecutionNumber) {
		msg := "No job execution of job " + jobID + " on this thing"
		if executionNumber != nil {
			msg += fmt.Sprintf(" with executionNumber %d", *executionNumber)
		}
		return nil, jobs.Reject(jobs.CodeResourceNotFound, msg)
	}
	return x, nil
}
