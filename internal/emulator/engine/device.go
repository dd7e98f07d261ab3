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
	err := e.writeThing(thing, func() error {
		e.stateMu.RLock()
		var head *execution
		var cur store.ExecRecord
		if ts := e.things[thing]; ts != nil {
			head = ts.head()
		}
		if head != nil {
			cur = head.ExecRecord
			resp.Execution = head.wire(true)
		}
		e.stateMu.RUnlock()
		if head == nil || cur.Status != jobs.StatusQueued {
			return nil
		}
		next := e.deviceUpdate(cur, head.job, jobs.StatusInProgress, req.StatusDetails, req.StepTimeoutInMinutes, now)
		if err := e.commit(&mutation{execs: []execChange{change(next, CauseDeviceUpdate)}}); err != nil {
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
	if jobID == jobs.NextJobID {
		if ts := e.things[thing]; ts != nil && ts.head() != nil {
			resp.Execution = ts.head().wire(req.IncludesJobDocument())
		}
		return resp, nil
	}
	x := e.lookup(thing, jobID, req.ExecutionNumber)
	if x == nil {
		return nil, notFoundOnThing(jobID, req.ExecutionNumber)
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
	err := e.writeThing(thing, func() error {
		e.stateMu.RLock()
		x := e.lookup(thing, jobID, req.ExecutionNumber)
		var cur store.ExecRecord
		if x != nil {
			cur = x.ExecRecord
		}
		e.stateMu.RUnlock()
		if x == nil {
			rej = notFoundOnThing(jobID, req.ExecutionNumber)
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
		if err := e.commitEnding(x, next, CauseDeviceUpdate, now); err != nil {
			return err
		}
		if req.IncludeJobExecutionState {
			resp.ExecutionState = stateOf(next)
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

// storeFailure is the rejection of a change that could not be committed.
func storeFailure(err error) *jobs.Rejection {
	return jobs.Reject(jobs.CodeInternalError, "The change could not be stored: "+err.Error())
}

// notFoundOnThing is the rejection of a request that names no execution of
// the thing.
func notFoundOnThing(jobID string, executionNumber *int64) *jobs.Rejection {
	msg := "No job execution of job " + jobID + " on this thing"
	if executionNumber != nil {
		msg += fmt.Sprintf(" with executionNumber %d", *executionNumber)
	}
	return jobs.Reject(jobs.CodeResourceNotFound, msg)
}
