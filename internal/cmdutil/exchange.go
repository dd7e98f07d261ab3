package cmdutil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
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
//
// A request that is safe to send again (repeatable) is retried up to
// --retries times, with exponential backoff and jitter, when the service
// throttles it (RequestThrottled), fails on it (InternalError), or the
// connection drops before the reply. Only the last reply is printed; it is
// returned too, accepted or rejected.
func Exchange(ctx context.Context, o *ConnOptions, topic jobs.Topic, request any, expected *int64, repeatable bool) ([]byte, error) {
	payload, err := json.Marshal(request)
	if err != nil {
		return nil, err
	}
	o.WarnImpersonation()
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	attempts := 1
	if repeatable {
		attempts += o.Retries
	}
	var reply mqttclient.Reply
	for attempt := 1; ; attempt++ {
		reply, err = o.requestOnce(ctx, topic, payload)
		why := RetryCause(reply, err)
		if why == "" || attempt == attempts {
			break
		}
		if !WaitToRetry(ctx, attempt, func(wait time.Duration) { o.noteRetry(attempt+1, attempts, why, wait, err) }) {
			if ctx.Err() != nil {
				return nil, o.ExplainTimeout(contextErr(ctx))
			}
			break
		}
	}
	if err != nil {
		return nil, o.ExplainTimeout(err)
	}
	if err := render.New(o.IO, o.format).Payload(reply.Payload); err != nil {
		return nil, err
	}
	if !reply.Accepted {
		return reply.Payload, o.Rejection(topic, payload, reply.Payload, expected)
	}
	if o.IO.IsStderrTTY() {
		fmt.Fprintf(o.IO.ErrOut, "%s in %s\n", color.GreenString("accepted"), humanDuration(reply.RoundTrip))
	}
	return reply.Payload, nil
}

// session is what an interactive session (iotjobs shell) lends the
// requests run with its context: its connection, used instead of their
// own, and an observer of every reply.
type session struct {
	thing   string
	watch   *mqttclient.Watch
	observe func(topic jobs.Topic, reply mqttclient.Reply)
}

type sessionKey struct{}

// WithSession makes the commands run with ctx use the session's
// connection (w, which watches thing's notifications and stays open after
// them) and hand each reply to observe (which may be nil): the shell runs
// each line's command, unchanged, on its one connection, and learns what
// the service said.
func WithSession(ctx context.Context, thing string, w *mqttclient.Watch, observe func(jobs.Topic, mqttclient.Reply)) context.Context {
	return context.WithValue(ctx, sessionKey{}, session{thing: thing, watch: w, observe: observe})
}

// InSession reports whether the command runs as a line of an interactive
// session (iotjobs shell), on its connection.
func InSession(ctx context.Context) bool {
	_, ok := ctx.Value(sessionKey{}).(session)
	return ok
}

// SessionStream is, inside a session, a reader of the session's
// notifications for a long-lived command (wait) about thing: ok is false
// outside a session; err says why a session cannot serve it.
func SessionStream(ctx context.Context, thing string) (w *mqttclient.Watch, ok bool, err error) {
	s, ok := ctx.Value(sessionKey{}).(session)
	if !ok {
		return nil, false, nil
	}
	if thing != s.thing {
		return nil, true, Usagef("the session watches %s's notifications: run this in another terminal for %s", s.thing, thing)
	}
	return s.watch.Tap(), true, nil
}

// requestOnce connects (unless a session lends its connection), sends the
// request and waits for its reply.
func (o *ConnOptions) requestOnce(ctx context.Context, topic jobs.Topic, payload []byte) (mqttclient.Reply, error) {
	if s, ok := ctx.Value(sessionKey{}).(session); ok {
		reply, err := s.watch.Request(ctx, topic, payload, o.ClientToken)
		if err == nil && s.observe != nil {
			s.observe(topic, reply)
		}
		return reply, err
	}
	conn, err := mqttclient.Dial(ctx, o.ClientConfig())
	if err != nil {
		return mqttclient.Reply{}, err
	}
	defer conn.Close()
	return conn.Request(ctx, topic, payload, o.ClientToken)
}

// RetryCause says why an attempt is worth repeating, "" when it is not: a
// connection lost before the reply, or the service's passing refusals
// (RequestThrottled, InternalError).
func RetryCause(reply mqttclient.Reply, err error) string {
	var lost *mqttclient.ConnectionError
	switch {
	case errors.As(err, &lost) && lost.Lost:
		return "the connection was lost before the reply"
	case err != nil || reply.Accepted:
		return ""
	}
	var resp jobs.ErrorResponse
	if json.Unmarshal(reply.Payload, &resp) == nil && (resp.Code == jobs.CodeRequestThrottled || resp.Code == jobs.CodeInternalError) {
		return "rejected: " + string(resp.Code)
	}
	return ""
}

// WaitToRetry waits the Backoff before attempt+1, telling before (when
// not nil) how long, and reports whether to make that attempt: not when
// ctx's deadline would pass first, nor when ctx ends during the wait.
func WaitToRetry(ctx context.Context, attempt int, before func(wait time.Duration)) bool {
	wait := Backoff(attempt)
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return false
	}
	if before != nil {
		before(wait)
	}
	select {
	case <-time.After(wait):
		return true
	case <-ctx.Done():
		return false
	}
}

// Backoff is the wait before attempt+1: 250 ms doubling, at most 5 s, each
// between half and one and a half of that (jitter), so that clients
// throttled together do not come back together.
func Backoff(attempt int) time.Duration {
	base := min(250*time.Millisecond<<(attempt-1), 5*time.Second)
	return base/2 + rand.N(base)
}

// noteRetry says on stderr that a request is sent again. A lost connection
// is always explained (it is usually another connection taking the client
// id over); the service's refusals only with --verbose.
func (o *ConnOptions) noteRetry(next, attempts int, why string, wait time.Duration, err error) {
	switch {
	case err != nil:
		fmt.Fprintf(o.IO.ErrOut, "%s: another connection with client id %q (a watch, or the device itself) may have taken it over, as AWS IoT keeps one per id, or a policy denied the request. Retrying in %s (attempt %d of %d)\n",
			why, o.ClientID, humanDuration(wait), next, attempts)
	case o.Verbose:
		fmt.Fprintf(o.IO.ErrOut, "* %s; retrying in %s (attempt %d of %d)\n", why, humanDuration(wait), next, attempts)
	}
}

func contextErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &mqttclient.TimeoutError{Op: "the reply"}
	}
	return ctx.Err()
}

// ExplainTimeout states the timeout the user set rather than the time
// left of it when the wait began.
func (o *ConnOptions) ExplainTimeout(err error) error {
	var te *mqttclient.TimeoutError
	if errors.As(err, &te) {
		te.After = o.Timeout
	}
	var ce *mqttclient.ConnectionError
	if errors.As(err, &ce) && ce.Within > 0 {
		ce.Within = o.Timeout
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

// Rejection builds the RejectedError of a rejected reply to request (nil
// when unknown), with a hint that runs as printed.
func (o *ConnOptions) Rejection(topic jobs.Topic, request, reply []byte, expected *int64) error {
	var resp jobs.ErrorResponse
	if err := json.Unmarshal(reply, &resp); err != nil || resp.Code == "" {
		return &RejectedError{Code: "unknown", Message: "the rejected reply carries no error code"}
	}
	return &RejectedError{
		Code: resp.Code, Message: resp.Message, State: resp.ExecutionState, Expected: expected,
		Hint: o.rejectionHint(topic, request, resp),
	}
}

func (o *ConnOptions) rejectionHint(topic jobs.Topic, request []byte, resp jobs.ErrorResponse) string {
	thing := topic.Thing
	switch resp.Code {
	case jobs.CodeResourceNotFound:
		if topic.JobID == "" {
			break
		}
		var asked struct {
			ExecutionNumber *int64 `json:"executionNumber"`
		}
		if json.Unmarshal(request, &asked) == nil && asked.ExecutionNumber != nil {
			return fmt.Sprintf("thing %s has no execution number %d of job %s; see its latest with: %s",
				thing, *asked.ExecutionNumber, topic.JobID, o.Suggest("describe", topic.JobID))
		}
		return fmt.Sprintf("thing %s has no execution of job %s; list its pending jobs with: %s", thing, topic.JobID, o.Suggest("get-pending"))
	case jobs.CodeVersionMismatch:
		return "another update came first; read the current version with: " + o.Suggest("describe", topic.JobID)
	case jobs.CodeInvalidStateTransition:
		if resp.ExecutionState != nil && resp.ExecutionState.Status.Terminal() {
			return "the execution has already finished and takes no more updates"
		}
		return "a device may set IN_PROGRESS, SUCCEEDED, FAILED or REJECTED, from QUEUED or IN_PROGRESS"
	case jobs.CodeTerminalStateReached:
		return "the execution has finished; see the thing's pending jobs with: " + o.Suggest("get-pending")
	case jobs.CodeRequestThrottled:
		limit := "200 Jobs reads (get-pending, describe) a second"
		if topic.Op == jobs.OpStartNext || topic.Op == jobs.OpUpdate {
			limit = "200 Jobs writes (start-next, update) a second"
		}
		return "AWS IoT allows an account " + limit + " by default, all its devices together; " +
			"wait a moment and try again (--retries does, with backoff), or pace a fan-out with --rate"
	case jobs.CodeInternalError:
		return "the service failed; try again"
	}
	return ""
}

// DialSession opens the one connection of a long-lived command that makes
// requests of its own (shell, run): auto-reconnecting, watching filters,
// and subscribed once to every reply topic of the thing, the job ids as a
// wildcard (jobs.ReplyFilters), so that it never needs a subscription per
// job (AWS IoT allows 50 per connection). The connect and the
// subscriptions are bounded by --timeout.
func (o *ConnOptions) DialSession(ctx context.Context, filters []string) (*mqttclient.Watch, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	o.WarnImpersonation()
	w, err := mqttclient.DialWatch(ctx, o.ClientConfig(), filters)
	if err != nil {
		return nil, o.ExplainTimeout(err)
	}
	// The replies go to the requests awaiting them: the handler has
	// nothing to do.
	if err := w.Subscribe(ctx, jobs.ReplyFilters(o.Thing), func(string, []byte) {}); err != nil {
		w.Close()
		return nil, o.ExplainTimeout(err)
	}
	return w, nil
}
