package cmdutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fatih/color"

	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/render"
)

// Exchange is the one-shot round of every request command: connect, send
// request on topic, print the reply payload on stdout, and turn a rejection
// into a RejectedError. The whole of it is bounded by --timeout.
// expected is the request's expectedVersion, for the VersionMismatch summary.
func Exchange(ctx context.Context, o *ConnOptions, topic jobs.Topic, request any, expected *int64) error {
	payload, err := json.Marshal(request)
	if err != nil {
		return err
	}
	o.WarnImpersonation()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	conn, err := mqttclient.Dial(ctx, o.ClientConfig())
	if err != nil {
		return o.ExplainTimeout(err)
	}
	defer conn.Close()
	reply, err := conn.Request(ctx, topic, payload, o.ClientToken)
	if err != nil {
		return o.ExplainTimeout(err)
	}
	if err := render.New(o.IO, o.format).Payload(reply.Payload); err != nil {
		return err
	}
	if !reply.Accepted {
		return Rejection(topic, reply.Payload, expected)
	}
	if o.IO.IsStderrTTY() {
		fmt.Fprintf(o.IO.ErrOut, "%s in %s\n", color.GreenString("accepted"), humanDuration(reply.RoundTrip))
	}
	return nil
}

// ExplainTimeout states the timeout the user set rather than the time
// left of it when the wait began.
func (o *ConnOptions) ExplainTimeout(err error) error {
	var te *mqttclient.TimeoutError
	if errors.As(err, &te) {
		te.After = o.Timeout
	}
	return err
}

// humanDuration keeps a tenth of a millisecond below 10 ms: on loopback a
// reply takes less than one, and "0 ms" says nothing.
func humanDuration(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	case d < 10*time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return d.Round(100 * time.Millisecond).String()
}

// Rejection builds the RejectedError of a rejected reply.
func Rejection(topic jobs.Topic, payload []byte, expected *int64) error {
	var resp jobs.ErrorResponse
	if err := json.Unmarshal(payload, &resp); err != nil || resp.Code == "" {
		return &RejectedError{Code: "unknown", Message: "the rejected reply carries no error code"}
	}
	return &RejectedError{
		Code: resp.Code, Message: resp.Message, State: resp.ExecutionState, Expected: expected,
		Hint: rejectionHint(topic, resp),
	}
}

func rejectionHint(topic jobs.Topic, resp jobs.ErrorResponse) string {
	thing := topic.Thing
	switch resp.Code {
	case jobs.CodeResourceNotFound:
		if topic.JobID != "" {
			return fmt.Sprintf("thing %s has no execution of job %s; list its pending jobs with: iotjobs get-pending -t %s", thing, topic.JobID, thing)
		}
	case jobs.CodeVersionMismatch:
		return fmt.Sprintf("another update came first; read the current version with: iotjobs describe %s -t %s", topic.JobID, thing)
	case jobs.CodeInvalidStateTransition:
		if resp.ExecutionState != nil && resp.ExecutionState.Status.Terminal() {
			return "the execution has already finished and takes no more updates"
		}
		return "a device may set IN_PROGRESS, SUCCEEDED, FAILED or REJECTED, from QUEUED or IN_PROGRESS"
	case jobs.CodeTerminalStateReached:
		return "the execution has finished; see the thing's pending jobs with: iotjobs get-pending -t " + thing
	case jobs.CodeRequestThrottled:
		return "the service is throttling this account's requests; wait a moment and try again"
	case jobs.CodeInternalError:
		return "the service failed; try again"
	}
	return ""
}
