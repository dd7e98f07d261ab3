package devicecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/render"
)

// untilTerminal is the --until shorthand for every terminal status.
const untilTerminal = "terminal"

type waitOptions struct {
	conn cmdutil.ConnOptions
	fan  fanOut
	many bool

	JobID   string
	Until   string
	Missing string

	until statusSet
	// awaitCreation: --missing wait.
	awaitCreation bool
	tokens        clientTokens
	// last is the status the execution was last seen in, for the timeout
	// message; "" until the first describe answers.
	last jobs.Status
	// absent: the last look found no execution (--missing wait).
	absent bool
	// lineShown: the status line is on the terminal (showStatus).
	lineShown bool
}

// waitDefaultTimeout is wait's --timeout when none is given: a device
// takes minutes, not the seconds a request takes. kubectl wait's 30 s is
// too short for a download and a flash.
const waitDefaultTimeout = 10 * time.Minute

func NewWaitCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &waitOptions{conn: cmdutil.ConnOptions{IO: ios, FanOut: true}}
	cmd := &cobra.Command{
		Use:   "wait <job-id> --until STATUS[,STATUS...]|terminal",
		Short: "Wait until a job execution of the thing reaches a status",
		Long: `Wait until the thing's execution of JOB-ID reaches one of the --until statuses:
QUEUED, IN_PROGRESS, SUCCEEDED, FAILED, TIMED_OUT, REJECTED, REMOVED, CANCELED,
or "terminal" for any of the last six. --timeout bounds the whole wait; it
is 10m unless given (by the flag, IOTJOBS_TIMEOUT or a profile).

On a terminal, stderr shows one line with what wait awaits and the status
last seen, and "condition met" when the status is reached; nothing when
stderr is not a terminal.

It listens to notifications, it does not poll: it subscribes to notify and
notify-next first, then describes the execution, and describes it again only
when a notification shows it reached an awaited status or left the pending
set, and after a reconnect (a dropped connection is reported on stderr and
re-established with backoff).

The Jobs service describes only pending executions: for one that has ended
it answers TerminalStateReached without saying how it ended. To learn that,
wait then sends an update asking for status QUEUED, which no device may set,
so the service refuses it (InvalidStateTransition) and the refusal carries
the execution's status; nothing is changed. The thing's policy must allow
iot:Publish on $aws/things/THING/jobs/JOB-ID/update for this, as it does for
any device that reports progress.

On stdout it prints the execution: the describe reply
{"execution":{...},"timestamp":N,"clientToken":"..."} for a pending status,
and for a terminal status {"execution":{"jobId","status","statusDetails",
"versionNumber"},"timestamp":N}, all the service tells about it.

Exit status: 0 when an awaited status is reached; 1 when the execution ended
in another terminal status (printed), or ended and the service would not say
how; 4 when --timeout elapsed first; 14 when the thing has no execution of
the job (ResourceNotFound), and the other codes of a rejected describe.

A thing may have no execution of the job yet: a job with a rollout rate
(maximumPerMinute, exponentialRate) creates its executions over time, and a
continuous job creates one when a thing joins its group. By default wait
takes that as a mistake in the thing or job id (exit 14); with --missing wait
it waits for the execution to appear (the notify that lists it tells), then
for the --until status, all within --timeout. A device cannot see a job's
own status: a thing the job never reaches (its rollout aborted, or the job
canceled first) waits until --timeout, and its line says it had no execution.

A describe the service refuses for now (RequestThrottled, InternalError) is
not the end of a wait: it is sent again after a backoff (about 250 ms,
doubling to about 5 s, with jitter), or sooner when a notification calls
for it.

Waiting for QUEUED or IN_PROGRESS has a limit: the service sends no
notification when the head of the queue goes from QUEUED to IN_PROGRESS, so
if that is the change awaited, wait sees it only with the next notification
or reconnect, or not before --timeout.

Many things at once ("is job X finished everywhere?"): repeat -t (or
separate names with commas), or give --things FILE (one name per line;
blank lines and # comments ignored; - for stdin). It listens as above, for
all of them: each connection subscribes to $aws/things/+/jobs/notify and
$aws/things/+/jobs/notify-next (the policy must allow these wildcard
filters) and describes each of its things once, with up to --parallel
requests in flight and at most --rate per second (against AWS IoT Core, 80/s
per connection by default, 160/s in all), then again only when a
notification of that thing calls for it, and every waiting thing after a
reconnect. --connections N shares the things out over N connections.

Piped, it prints one JSON line per thing as its wait ends:
  {"thing":"...","outcome":"accepted|rejected|timeout|error|canceled","exitCode":N,"reply":{...}}
accepted: the status was reached, reply is what a lone wait prints;
error (exitCode 1): the execution ended in another status, which reply
shows; rejected: the describe was refused (14: no such execution); timeout:
--timeout elapsed first, reply is the last describe seen. On a terminal, a
progress bar on stderr, then a summary with the count per execution status
(--summary prints only the summary when piped too). Exit status: 0 when
every thing reached an awaited status, 1 otherwise, 130 on Ctrl-C.`,
		Example: `  $ iotjobs wait job-1 -t my-thing --until SUCCEEDED --timeout 5m
  $ iotjobs wait job-1 -t my-thing --until terminal --timeout 1h | jq -r .execution.status
  $ iotjobs wait job-1 -t my-thing --until SUCCEEDED,FAILED,REJECTED && echo "the device answered"
  $ iotjobs wait fw-1-2-3 --things fleet.txt --until terminal --timeout 1h --summary
  $ iotjobs wait fw-1-2-3 --things fleet.txt --until terminal --missing wait --timeout 2h   # a paced rollout
  $ iotjobs wait fw-1-2-3 --things fleet.txt --until SUCCEEDED | jq -r 'select(.outcome != "accepted").thing'`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: cmdutil.JobIDCompletion(&opts.conn, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.complete(cmd, args); err != nil {
				return err
			}
			return runWait(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Until, "until", "", "statuses to wait for: `STATUS`[,STATUS...], or terminal (required)")
	_ = cmd.RegisterFlagCompletionFunc("until", cobra.FixedCompletions(untilCompletions(), cobra.ShellCompDirectiveNoFileComp))
	cmd.Flags().StringVar(&opts.Missing, "missing", missingFail, "a thing with no execution of the job: `fail` (exit 14) or wait for one to appear (a rollout that has not reached it yet)")
	_ = cmd.RegisterFlagCompletionFunc("missing", cobra.FixedCompletions([]string{missingFail, missingWait}, cobra.ShellCompDirectiveNoFileComp))
	opts.conn.AddConnFlags(cmd)
	opts.fan.addFlags(cmd)
	timeout := cmd.Flags().Lookup("timeout")
	timeout.Usage = "bound on the whole wait, connect included, a `DURATION` (env " + cmdutil.EnvTimeout + ")"
	opts.conn.Timeout, timeout.DefValue = waitDefaultTimeout, waitDefaultTimeout.String()
	cmd.Flags().Lookup("client-token").Usage = "clientToken `TOKEN` of the requests (default: a fresh random token for each)"
	return cmd
}

func untilCompletions() []string {
	return append([]string{untilTerminal}, jobs.Names(jobs.Statuses)...)
}

func (o *waitOptions) complete(cmd *cobra.Command, args []string) (err error) {
	// The connection settings first: the hint on $next carries them.
	if err := o.conn.Complete(cmd); err != nil {
		return err
	}
	if o.JobID, err = cmdutil.JobIDArg(args[0], "wait needs the id of a job: the execution $next names changes as jobs finish; find the id with: "+o.conn.Suggest("describe", jobs.NextJobID)); err != nil {
		return err
	}
	if o.until, err = parseUntil(o.Until); err != nil {
		return err
	}
	switch strings.ToLower(o.Missing) {
	case missingFail:
	case missingWait:
		o.awaitCreation = true
	default:
		return cmdutil.Usagef("invalid --missing %q: use fail or wait, e.g. --missing wait", o.Missing)
	}
	if o.many, err = o.fan.complete(cmd, &o.conn, o.conn.IO.In); err != nil {
		return err
	}
	o.tokens = newClientTokens(cmd, &o.conn)
	return nil
}

// --missing's values.
const (
	missingFail = "fail"
	missingWait = "wait"
)

// statusSet is the set of statuses --until awaits.
type statusSet map[jobs.Status]bool

// parseUntil reads --until: statuses separated by commas, in any case, and
// "terminal" for every terminal status.
func parseUntil(s string) (statusSet, error) {
	if strings.TrimSpace(s) == "" {
		return nil, cmdutil.Usagef("wait needs --until STATUS[,STATUS...] or --until terminal")
	}
	set := statusSet{}
	for _, part := range strings.Split(s, ",") {
		name := strings.ToUpper(strings.TrimSpace(part))
		status := jobs.Status(name)
		switch {
		case strings.EqualFold(name, untilTerminal):
			for _, st := range jobs.Statuses {
				if st.Terminal() {
					set[st] = true
				}
			}
		case status.Known():
			set[status] = true
		default:
			return nil, cmdutil.Usagef("invalid --until status %q: use %s", strings.TrimSpace(part), strings.Join(untilCompletions(), ", "))
		}
	}
	return set, nil
}

// String lists the set in the service's order: "SUCCEEDED or FAILED".
func (s statusSet) String() string {
	var names []string
	for _, st := range jobs.Statuses {
		if s[st] {
			names = append(names, string(st))
		}
	}
	return strings.Join(names, " or ")
}

// allTerminal reports whether every terminal status is awaited, so that an
// ending whose status is unknown still satisfies the wait.
func (s statusSet) allTerminal() bool {
	for _, st := range jobs.Statuses {
		if st.Terminal() && !s[st] {
			return false
		}
	}
	return true
}

func runWait(ctx context.Context, opts *waitOptions) error {
	if opts.many {
		return runWaitFanOut(ctx, opts)
	}
	o := &opts.conn
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	// Subscribed before the first describe: a change between the two shows
	// up as a notification.
	w, err := dialStream(ctx, o, notificationTopics(o.Thing, true, true))
	if err != nil {
		return err
	}
	defer w.Close()
	opts.showStatus()
	defer opts.clearStatus()

	recheck := true
	// A look the service refused for now (throttled) is tried again at
	// retryAt, after a growing backoff, unless a notification comes first.
	var retryAt time.Time
	refusals := 0
	for {
		if recheck {
			done, refused, err := opts.check(ctx, w.Conn)
			var lost *mqttclient.ConnectionError
			switch {
			case errors.As(err, &lost) && ctx.Err() == nil:
				// Dropped mid-request: Reconnected will ask again.
			case done || err != nil:
				return opts.explain(ctx, err)
			}
			recheck, retryAt = false, time.Time{}
			if !refused {
				refusals = 0
			} else {
				refusals++
				retryAt = time.Now().Add(cmdutil.Backoff(refusals))
			}
		}
		nextCtx, cancel := ctx, context.CancelFunc(func() {})
		if !retryAt.IsZero() {
			nextCtx, cancel = context.WithDeadline(ctx, retryAt)
		}
		e, err := w.Next(nextCtx)
		cancel()
		if err != nil && ctx.Err() == nil && !retryAt.IsZero() {
			recheck = true // time to look again
			continue
		}
		if err != nil {
			return opts.explain(ctx, err)
		}
		switch e.Kind {
		case mqttclient.Message:
			status, again := opts.target().notified(e)
			if status != "" {
				opts.seen(status, false)
			}
			recheck = again
		case mqttclient.Lost, mqttclient.Retrying:
			opts.clearStatus()
			w.report(e)
			opts.showStatus()
		case mqttclient.Reconnected:
			opts.clearStatus()
			w.report(e)
			opts.showStatus()
			recheck = true
		}
	}
}

// waitTarget is one execution a wait watches: the thing's execution of
// the job. Its methods only ask and read; what to print is the caller's.
type waitTarget struct {
	conn  *cmdutil.ConnOptions // for the hints of a rejection
	thing string
	jobID string
	until statusSet
	// awaitCreation: no execution yet is something to wait out (--missing
	// wait), not a failure.
	awaitCreation bool
	// waitMissing, when set, is the command that waits with --missing
	// wait, for the hint of a thing with no execution.
	waitMissing string
	tokens      clientTokens
}

// look is what one look at the execution told.
type look struct {
	// status is the status seen; "" when the execution has ended and the
	// service would not say how.
	status jobs.Status
	// payload describes the execution; done: the wait for this execution
	// is over, met or not, and payload is what to print; failure, when not
	// met, says why.
	payload []byte
	done    bool
	failure error
	// absent: the thing has no execution of the job yet, and the wait
	// goes on (awaitCreation).
	absent bool
	// refused: the service refused the look for a passing reason
	// (RequestThrottled, InternalError): look again after a backoff.
	refused bool
}

// notified reads a notification, noting the status it lists the
// execution in: does it show the execution in an awaited status, or no
// longer pending? Both call for a look, which alone gives the whole
// execution or tells that it ended. Notifications list pending executions
// only, and at most 10, so an absent execution may still be pending; the
// look settles that too. A notification of another thing calls for
// nothing.
func (t waitTarget) notified(e mqttclient.Event) (status jobs.Status, recheck bool) {
	topic, err := jobs.ParseTopic(e.Topic)
	if err != nil || topic.Thing != t.thing {
		return "", false
	}
	switch topic.Op {
	case jobs.OpNotify:
		var m jobs.NotifyMessage
		if json.Unmarshal(e.Payload, &m) != nil {
			return "", true // unreadable: ask the service
		}
		for status, list := range m.Jobs {
			for _, x := range list {
				if x.JobID == t.jobID {
					return status, t.until[status]
				}
			}
		}
		return "", true
	case jobs.OpNotifyNext:
		var m jobs.NotifyNextMessage
		if json.Unmarshal(e.Payload, &m) != nil {
			return "", true
		}
		if m.Execution != nil && m.Execution.JobID == t.jobID {
			return m.Execution.Status, t.until[m.Execution.Status]
		}
		return "", false
	}
	return "", false
}

// look describes the execution, and probes it when it has ended. err is a
// request that got no reply.
func (t waitTarget) look(ctx context.Context, conn *mqttclient.Conn) (look, error) {
	topic := jobs.DescribeTopic(t.thing, t.jobID)
	token := t.tokens.next()
	reply, err := request(ctx, conn, topic, jobs.DescribeRequest{ClientToken: token}, token)
	if err != nil {
		return look{}, err
	}
	if reply.Accepted {
		var r jobs.ExecutionResponse
		if err := json.Unmarshal(reply.Payload, &r); err != nil || r.Execution == nil {
			return look{done: true, payload: reply.Payload, failure: fmt.Errorf("the reply to describe %s carries no execution: %s", t.jobID, reply.Payload)}, nil
		}
		return t.reached(r.Execution.Status, reply.Payload), nil
	}
	var rej jobs.ErrorResponse
	_ = json.Unmarshal(reply.Payload, &rej)
	switch rej.Code {
	case jobs.CodeRequestThrottled, jobs.CodeInternalError:
		// A wait outlasts such a refusal: the next look may pass.
		return look{refused: true}, nil
	case jobs.CodeTerminalStateReached:
		return t.ended(ctx, conn, reply.Payload)
	case jobs.CodeResourceNotFound:
		if t.awaitCreation {
			return look{absent: true, payload: reply.Payload}, nil
		}
		err := t.conn.Rejection(topic, nil, reply.Payload, nil)
		var rejected *cmdutil.RejectedError
		if errors.As(err, &rejected) && t.waitMissing != "" {
			rejected.Hint += "\n  if the job's rollout has not reached the thing yet, wait for its execution too: " + t.waitMissing
		}
		return look{done: true, payload: reply.Payload, failure: err}, nil
	}
	return look{done: true, payload: reply.Payload, failure: t.conn.Rejection(topic, nil, reply.Payload, nil)}, nil
}

// reached is the look of an execution seen in status, described by
// payload: done when status is awaited or terminal.
func (t waitTarget) reached(status jobs.Status, payload []byte) look {
	l := look{status: status, payload: payload}
	if !t.until[status] && !status.Terminal() {
		return l
	}
	l.done = true
	if !t.until[status] {
		l.failure = fmt.Errorf("job %s ended %s, not %s", t.jobID, status, t.until)
	}
	return l
}

// ended learns the terminal status of an execution the service would not
// describe (TerminalStateReached, whose payload is terminalReply), with
// cmdutil.ProbeEnded.
func (t waitTarget) ended(ctx context.Context, conn *mqttclient.Conn, terminalReply []byte) (look, error) {
	reply, state, timestamp, err := cmdutil.ProbeEnded(ctx, conn, t.thing, t.jobID, nil, t.tokens.next())
	switch {
	case err != nil:
		return look{}, err
	case reply.Accepted:
		return look{done: true, payload: terminalReply,
			failure: fmt.Errorf("the service accepted an update of job %s to QUEUED, which it refuses to devices; the execution's state is unknown", t.jobID)}, nil
	case state != nil:
		execution, err := json.Marshal(terminalExecution{
			Execution: terminalState{JobID: t.jobID, Status: state.Status, StatusDetails: state.StatusDetails, VersionNumber: state.VersionNumber},
			Timestamp: timestamp,
		})
		if err != nil {
			return look{}, err
		}
		return t.reached(state.Status, execution), nil
	}
	// The service did not say: all that is known is that it ended.
	l := look{done: true, payload: terminalReply}
	if !t.until.allTerminal() {
		l.failure = fmt.Errorf("job %s has ended, but the service did not say in which status, so whether it is %s is unknown (the update probe got: %s)",
			t.jobID, t.until, reply.Payload)
	}
	return l, nil
}

// check looks at the execution, and when the wait is over prints it and
// says so. done reports that the wait is over; err, how it failed.
// refused reports that the service refused the look for a passing reason,
// to be tried again.
func (opts *waitOptions) check(ctx context.Context, conn *mqttclient.Conn) (done, refused bool, err error) {
	o := &opts.conn
	l, err := opts.target().look(ctx, conn)
	if err != nil {
		return false, false, err
	}
	if l.status != "" || l.absent {
		opts.seen(l.status, l.absent)
	}
	if !l.done {
		return false, l.refused, nil
	}
	opts.clearStatus()
	if err := render.New(o.IO, o.Format()).Payload(l.payload); err != nil {
		return true, false, err
	}
	if l.failure == nil && l.status != "" && o.IO.IsStderrTTY() {
		fmt.Fprintf(o.IO.ErrOut, "condition met: job %s is %s\n", opts.JobID, color.GreenString(string(l.status)))
	}
	return true, false, l.failure
}

// target is the execution this wait watches.
func (opts *waitOptions) target() waitTarget {
	return waitTarget{conn: &opts.conn, thing: opts.conn.Thing, jobID: opts.JobID, until: opts.until, awaitCreation: opts.awaitCreation,
		waitMissing: opts.conn.Suggest("wait", opts.JobID, "--until", opts.Until, "--missing", missingWait), tokens: opts.tokens}
}

// seen notes the status the execution was seen in, or that there is none
// yet (absent).
func (opts *waitOptions) seen(status jobs.Status, absent bool) {
	opts.last, opts.absent = status, absent
	if opts.lineShown {
		opts.showStatus()
	}
}

// showStatus writes, on a terminal's stderr only, one line in place saying
// what wait awaits and the status last seen.
func (opts *waitOptions) showStatus() {
	o := &opts.conn
	if !o.IO.IsStderrTTY() {
		return
	}
	last := "not seen yet"
	switch {
	case opts.absent:
		last = "no execution yet"
	case opts.last != "":
		last = "last seen " + string(opts.last)
	}
	fmt.Fprintf(o.IO.ErrOut, "\r\033[Kwaiting for job %s of %s to be %s (%s)", opts.JobID, o.Thing, opts.until, last)
	opts.lineShown = true
}

// clearStatus erases the status line, before anything else is printed.
func (opts *waitOptions) clearStatus() {
	if opts.lineShown {
		fmt.Fprint(opts.conn.IO.ErrOut, "\r\033[K")
		opts.lineShown = false
	}
}

// terminalExecution is what wait prints for an execution that has ended:
// the describe reply's shape, with what the service still tells about it.
type terminalExecution struct {
	Execution terminalState `json:"execution"`
	Timestamp int64         `json:"timestamp"`
}

type terminalState struct {
	JobID         string            `json:"jobId"`
	Status        jobs.Status       `json:"status"`
	StatusDetails map[string]string `json:"statusDetails,omitempty"`
	VersionNumber int64             `json:"versionNumber"`
}

// explain turns the end of the --timeout into a waitTimeoutError that
// says what was awaited and what was last seen.
func (opts *waitOptions) explain(ctx context.Context, err error) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	var te *mqttclient.TimeoutError
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &te) {
		return err
	}
	return &waitTimeoutError{jobID: opts.JobID, until: opts.until, last: opts.last, absent: opts.absent, after: opts.conn.Timeout, check: opts.conn.Suggest("describe", opts.JobID)}
}

// waitTimeoutError is a wait that --timeout ended (exit 4).
type waitTimeoutError struct {
	jobID string
	until statusSet
	last  jobs.Status
	// absent: the thing had no execution of the job at the last look.
	absent bool
	after  time.Duration
	// check is the command that describes the execution.
	check string
}

func (e *waitTimeoutError) Error() string {
	msg := fmt.Sprintf("job %s did not reach %s within %s", e.jobID, e.until, e.after)
	switch {
	case e.absent:
		msg += "; the thing had no execution of it yet"
	case e.last != "":
		msg += "; it was last seen " + string(e.last)
	}
	if e.until[jobs.StatusInProgress] {
		msg += "\n  hint: the service sends no notification when the next execution goes from QUEUED to IN_PROGRESS; check with: " + e.check
	}
	return msg
}

// Unwrap makes it a timeout for app's exit codes.
func (e *waitTimeoutError) Unwrap() error { return context.DeadlineExceeded }
