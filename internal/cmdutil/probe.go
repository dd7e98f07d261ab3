package cmdutil

import (
	"context"
	"encoding/json"

	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

// ProbeEnded learns how thing's execution of jobID ended, which describe
// does not say (it answers TerminalStateReached): it asks for an update to
// QUEUED, which no device may set, and the InvalidStateTransition refusal
// carries the execution's state. Nothing changes: an ended execution takes
// no update. executionNumber names the execution, nil the latest (a retry
// is a later one). state is that terminal state, with the refusal's
// timestamp; nil when the service did not say (reply tells what it said
// instead).
func ProbeEnded(ctx context.Context, conn *mqttclient.Conn, thing, jobID string, executionNumber *int64, token string) (reply mqttclient.Reply, state *jobs.JobExecutionState, timestamp int64, err error) {
	payload, err := json.Marshal(jobs.UpdateRequest{Status: jobs.StatusQueued, ExecutionNumber: executionNumber, ClientToken: token})
	if err != nil {
		return reply, nil, 0, err
	}
	if reply, err = conn.Request(ctx, jobs.UpdateTopic(thing, jobID), payload, token); err != nil || reply.Accepted {
		return reply, nil, 0, err
	}
	var rej jobs.ErrorResponse
	if json.Unmarshal(reply.Payload, &rej) == nil && rej.ExecutionState != nil && rej.ExecutionState.Status.Terminal() {
		return reply, rej.ExecutionState, rej.Timestamp, nil
	}
	return reply, nil, 0, nil
}
