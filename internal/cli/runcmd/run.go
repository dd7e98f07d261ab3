// Package runcmd is `iotjobs run`: execute jobs as a device would, with a
// handler command, on one connection.
package runcmd

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/render"
)

type runOptions struct {
	conn cmdutil.ConnOptions

	Exec        string
	Once        bool
	MaxJobs     int
	StepTimeout int64
	Grace       time.Duration
}

// The statusDetails the runner reports, within the service's limits.
const (
	maxDetails     = 10
	maxDetailValue = 1024
	progressPrefix = "::progress "
)

// NewRunCmd is `iotjobs run`.
func NewRunCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &runOptions{conn: cmdutil.ConnOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "run --exec 'COMMAND'",
		Short: "Execute jobs as the device: run a handler for each, report its outcome",
		Long: `Act as the device's job agent, on one connection: take the next job
(start-next, which resumes an execution already IN_PROGRESS), run the
handler COMMAND (with /bin/sh -c) with the job document on its stdin and
IOTJOBS_JOB_ID, IOTJOBS_THING, IOTJOBS_EXECUTION_NUMBER and
IOTJOBS_VERSION_NUMBER in its environment, then update the execution to
SUCCEEDED when it exits 0 and FAILED otherwise. When nothing is pending it
waits for notify-next.

The final update's statusDetails say how the handler ended: exitCode (or
signal), durationMs and output, the last 1024 characters of what it printed
(stdout and stderr). A handler reports progress by printing lines
  ::progress key=value [key=value...]
which become statusDetails at once (an IN_PROGRESS update), and stay in the
final one; at most 10 pairs in all, values up to 1024 characters, as the
service allows. Its other output is passed on to stderr.

--step-timeout MINUTES sets a step timer on each execution and renews it,
halfway through, for as long as the handler runs; every update carries
expectedVersion.

When the execution ends under the handler (canceled, or timed out by its
step timer: a notify-next that no longer shows it), the handler is stopped
(SIGTERM, then SIGKILL 5 s later), run says what happened and sends no
update, which the service would refuse.

--once handles one job (waiting for one if none is pending) and exits with
its outcome: 0 for SUCCEEDED, 1 otherwise. --max-jobs N stops after N.
Ctrl-C or SIGTERM takes no new job: a running handler has --grace to
finish, then gets SIGTERM and, 5 s later, SIGKILL; its outcome is reported
before the runner exits. If the runner itself dies, the execution stays
IN_PROGRESS and the next run resumes it.

Each finished execution prints one line: piped, JSON
{"thing":..,"jobId":..,"executionNumber":N,"status":"SUCCEEDED|FAILED","exitCode":N,"durationMs":N};
on a terminal, a sentence.`,
		Example: `  $ iotjobs run -t my-thing --exec ./install.sh --once
  $ iotjobs run -t my-thing --exec 'jq -r .url | xargs curl -fsO' --step-timeout 10
  $ iotjobs run -t my-thing --exec ./handler.sh --max-jobs 5 | jq -r .status`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Exec, "exec", "", "the handler `COMMAND`, run with /bin/sh -c for each job (required)")
	f.BoolVar(&opts.Once, "once", false, "handle one job and exit with its outcome")
	f.IntVar(&opts.MaxJobs, "max-jobs", 0, "stop after `N` jobs (0: no limit)")
	f.Int64Var(&opts.StepTimeout, "step-timeout", 0, "`MINUTES` (1-10080) of each execution's step timer, renewed while the handler runs (0: none)")
	f.DurationVar(&opts.Grace, "grace", 30*time.Second, "on Ctrl-C or SIGTERM, how long a running handler has to finish, a `DURATION`")
	opts.conn.AddConnFlags(cmd)
	cmdutil.MarkStream(cmd)
	return cmd
}

func (o *runOptions) complete(cmd *cobra.Command) error {
	if err := o.conn.Complete(cmd); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(o.Exec) == "":
		return cmdutil.Usagef("run needs the handler: --exec 'COMMAND', e.g. --exec ./install.sh")
	case o.MaxJobs < 0:
		return cmdutil.Usagef("invalid --max-jobs %d: must be 0 (no limit) or more", o.MaxJobs)
	case o.Grace < 0:
		return cmdutil.Usagef("invalid --grace %s: must be 0 or more", o.Grace)
	case o.StepTimeout != 0:
		if err := jobs.ValidateStepTimeout(o.StepTimeout, false); err != nil {
			return cmdutil.Usagef("invalid --step-timeout %d: %v", o.StepTimeout, err)
		}
	}
	return nil
}

// runner is a run in progress.
type runner struct {
	o *runOptions
	w *mqttclient.Watch
	// work bounds the requests: cut from the command's context, so that
	// the outcome of a handler is reported after Ctrl-C.
	work context.Context
	out  *render.Printer
}

func runRun(ctx context.Context, o *runOptions) error {
	work := context.WithoutCancel(ctx)
	w, err := o.conn.DialSession(ctx, []string{jobs.NotifyNextTopic(o.conn.Thing).String()})
	if err != nil {
		return err
	}
	defer w.Close()
	r := &runner{o: o, w: w, work: work, out: render.New(o.conn.IO, o.conn.Format())}
	for done := 0; o.MaxJobs == 0 || done < o.MaxJobs; {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		x, err := r.startNext()
		if err != nil {
			return err
		}
		if x == nil {
			if err := r.awaitNext(ctx); err != nil {
				return err
			}
			continue
		}
		result, err := r.handle(ctx, x)
		if err != nil {
			return err
		}
		done++
		if o.Once {
			if result.Status != jobs.StatusSucceeded {
				return cmdutil.SilentExit{Code: cmdutil.ExitFailure}
			}
			return nil
		}
	}
	return nil
}

// request sends one request, whose clientToken is token, on the run's
// connection and decodes the accepted reply into v; a rejection is an
// error.
func (r *runner) request(topic jobs.Topic, req any, token string, v any) error {
	ctx, cancel := context.WithTimeout(r.work, r.o.conn.Timeout)
	defer cancel()
	payload, err := json.Marshal(req)
	if err != nil {
		return err
	}
	reply, err := r.w.Request(ctx, topic, payload, token)
	if err != nil {
		return r.o.conn.ExplainTimeout(err)
	}
	if !reply.Accepted {
		return r.o.conn.Rejection(topic, payload, reply.Payload, nil)
	}
	return json.Unmarshal(reply.Payload, v)
}

// startNext takes the next execution (or the one IN_PROGRESS); nil when
// nothing is pending.
func (r *runner) startNext() (*jobs.JobExecution, error) {
	req := jobs.StartNextRequest{ClientToken: uuid.NewString()}
	if r.o.StepTimeout > 0 {
		req.StepTimeoutInMinutes = &r.o.StepTimeout
	}
	var resp jobs.ExecutionResponse
	if err := r.request(jobs.StartNextTopic(r.o.conn.Thing), req, req.ClientToken, &resp); err != nil {
		return nil, err
	}
	return resp.Execution, nil
}

// awaitNext waits for a notify-next that names an execution, or for a
// reconnect (after which start-next asks again).
func (r *runner) awaitNext(ctx context.Context) error {
	if r.o.conn.IO.IsStderrTTY() {
		fmt.Fprintf(r.o.conn.IO.ErrOut, "waiting for a job for %s...\n", r.o.conn.Thing)
	}
	for {
		e, err := r.w.Next(ctx)
		if err != nil {
			return err
		}
		switch e.Kind {
		case mqttclient.Reconnected:
			return nil
		case mqttclient.Message:
			var m jobs.NotifyNextMessage
			if json.Unmarshal(e.Payload, &m) == nil && m.Execution != nil {
				return nil
			}
		}
	}
}

// result is the line printed for a finished execution.
type result struct {
	Thing           string      `json:"thing"`
	JobID           string      `json:"jobId"`
	ExecutionNumber int64       `json:"executionNumber"`
	Status          jobs.Status `json:"status"`
	ExitCode        *int        `json:"exitCode,omitempty"`
	Signal          string      `json:"signal,omitempty"`
	DurationMs      int64       `json:"durationMs"`
	Error           string      `json:"error,omitempty"`
}

// execution is the state of the execution being handled.
type execution struct {
	mu      sync.Mutex
	jobID   string
	version int64
	details map[string]string
}

// update sends an update of the execution and learns its new version.
func (r *runner) update(x *execution, status jobs.Status, stepTimeout *int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	v := jobs.Version(x.version)
	req := jobs.UpdateRequest{Status: status, StatusDetails: x.details, ExpectedVersion: &v,
		IncludeJobExecutionState: true, StepTimeoutInMinutes: stepTimeout, ClientToken: uuid.NewString()}
	var resp jobs.UpdateResponse
	if err := r.request(jobs.UpdateTopic(r.o.conn.Thing, x.jobID), req, req.ClientToken, &resp); err != nil {
		return err
	}
	if resp.ExecutionState != nil {
		x.version = resp.ExecutionState.VersionNumber
	}
	return nil
}

// handle runs the handler for the execution and reports its outcome.
func (r *runner) handle(ctx context.Context, je *jobs.JobExecution) (result, error) {
	o := r.o
	x := &execution{jobID: je.JobID, version: je.VersionNumber, details: map[string]string{}}
	res := result{Thing: o.conn.Thing, JobID: je.JobID, ExecutionNumber: je.ExecutionNumber}
	doc := []byte(je.JobDocument)
	if len(doc) == 0 {
		doc = []byte("{}")
	}
	cmd := exec.Command("/bin/sh", "-c", o.Exec)
	cmd.Stdin = strings.NewReader(string(doc) + "\n")
	cmd.Env = append(os.Environ(),
		"IOTJOBS_JOB_ID="+je.JobID, "IOTJOBS_THING="+o.conn.Thing,
		"IOTJOBS_EXECUTION_NUMBER="+strconv.FormatInt(je.ExecutionNumber, 10),
		"IOTJOBS_VERSION_NUMBER="+strconv.FormatInt(je.VersionNumber, 10))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // signals reach its children
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("start the handler: %w", err)
	}
	if o.conn.IO.IsStderrTTY() {
		fmt.Fprintf(o.conn.IO.ErrOut, "running job %s (execution %d, version %d)\n", je.JobID, je.ExecutionNumber, je.VersionNumber)
	}
	tail := &tailBuffer{}
	var readers sync.WaitGroup
	readers.Go(func() { r.readOutput(stdout, tail, x, true) })
	readers.Go(func() { r.readOutput(stderr, tail, x, false) })
	exited := make(chan error, 1)
	go func() { readers.Wait(); exited <- cmd.Wait() }()

	renew := make(<-chan time.Time)
	if o.StepTimeout > 0 {
		ticker := time.NewTicker(time.Duration(o.StepTimeout) * time.Minute / 2)
		defer ticker.Stop()
		renew = ticker.C
	}
	// The execution may end under the handler (canceled, timed out): a
	// notify-next that no longer shows it as the head says so.
	watchCtx, stopWatching := context.WithCancel(r.work)
	defer stopWatching()
	gone := make(chan struct{}, 1)
	go r.watchHead(watchCtx, je.JobID, gone)
	// endedUnder: the execution ended under the handler, in status ended
	// ("" when the service would not say).
	var ended jobs.Status
	endedUnder := false
	var waitErr error
	stopping := ctx.Done()
	var kill <-chan time.Time
	terminate := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		go func() {
			time.Sleep(5 * time.Second)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}()
	}
	for done := false; !done; {
		select {
		case waitErr = <-exited:
			done = true
		case <-gone:
			if st, over := r.endedStatus(je.JobID); over && !endedUnder {
				ended, endedUnder = st, true
				fmt.Fprintf(o.conn.IO.ErrOut, "job %s is %s: its handler is stopped (SIGTERM, then SIGKILL in 5s)\n", je.JobID, cmp.Or(string(st), "over"))
				terminate()
			}
		case <-renew:
			if err := r.update(x, jobs.StatusInProgress, &o.StepTimeout); err != nil {
				fmt.Fprintf(o.conn.IO.ErrOut, "renewing the step timer of job %s failed: %v\n", je.JobID, err)
			}
		case <-stopping:
			stopping = nil
			fmt.Fprintf(o.conn.IO.ErrOut, "stopping: no new job; the handler of job %s has %s to finish\n", je.JobID, o.Grace)
			kill = time.After(o.Grace)
		case <-kill:
			kill = nil
			fmt.Fprintf(o.conn.IO.ErrOut, "the handler of job %s did not finish within %s: SIGTERM, then SIGKILL in 5s\n", je.JobID, o.Grace)
			terminate()
		}
	}
	stopWatching()
	res.DurationMs = time.Since(start).Milliseconds()
	res.Status = jobs.StatusSucceeded
	x.mu.Lock()
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
		code := 0
		res.ExitCode = &code
	case errors.As(waitErr, &exitErr) && exitErr.ExitCode() >= 0:
		code := exitErr.ExitCode()
		res.ExitCode, res.Status = &code, jobs.StatusFailed
	case errors.As(waitErr, &exitErr):
		res.Status = jobs.StatusFailed
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = ws.Signal().String()
		}
	default:
		res.Status, res.Error = jobs.StatusFailed, waitErr.Error()
	}
	outcome := map[string]string{"durationMs": strconv.FormatInt(res.DurationMs, 10), "output": tail.String()}
	if res.ExitCode != nil {
		outcome["exitCode"] = strconv.Itoa(*res.ExitCode)
	}
	if res.Signal != "" {
		outcome["signal"] = res.Signal
	}
	for k, v := range outcome {
		if _, ok := x.details[k]; v != "" && (ok || len(x.details) < maxDetails) {
			x.details[k] = truncate(v)
		}
	}
	x.mu.Unlock()
	if endedUnder {
		// It ended without us: no update is taken any more.
		res.Status, res.Error = ended, "the execution ended while its handler ran"
		return res, r.print(res)
	}
	if err := r.update(x, res.Status, nil); err != nil {
		res.Error = "the final update failed: " + strings.SplitN(err.Error(), "\n", 2)[0]
		fmt.Fprintf(o.conn.IO.ErrOut, "job %s: %v\n", je.JobID, err)
	}
	return res, r.print(res)
}

// watchHead signals gone when a notify-next no longer names jobID as the
// head of the queue: the execution may have ended (canceled, timed out).
func (r *runner) watchHead(ctx context.Context, jobID string, gone chan<- struct{}) {
	for {
		e, err := r.w.Next(ctx)
		if err != nil {
			return
		}
		if e.Kind != mqttclient.Message {
			continue
		}
		var m jobs.NotifyNextMessage
		if json.Unmarshal(e.Payload, &m) == nil && (m.Execution == nil || m.Execution.JobID != jobID) {
			select {
			case gone <- struct{}{}:
			default:
			}
		}
	}
}

// endedStatus asks whether the execution of jobID has ended and in what
// status: describe answers TerminalStateReached for an ended one, and an
// update asking for QUEUED, which no device may set, is refused with the
// execution's state (as iotjobs wait learns it). over is false while it
// is still pending.
func (r *runner) endedStatus(jobID string) (status jobs.Status, over bool) {
	ctx, cancel := context.WithTimeout(r.work, r.o.conn.Timeout)
	defer cancel()
	ask := func(topic jobs.Topic, req any, token string) (mqttclient.Reply, error) {
		payload, _ := json.Marshal(req)
		return r.w.Request(ctx, topic, payload, token)
	}
	token := uuid.NewString()
	reply, err := ask(jobs.DescribeTopic(r.o.conn.Thing, jobID), jobs.DescribeRequest{ClientToken: token}, token)
	var rej jobs.ErrorResponse
	if err != nil || reply.Accepted || json.Unmarshal(reply.Payload, &rej) != nil || rej.Code != jobs.CodeTerminalStateReached {
		return "", false
	}
	token = uuid.NewString()
	reply, err = ask(jobs.UpdateTopic(r.o.conn.Thing, jobID), jobs.UpdateRequest{Status: jobs.StatusQueued, ClientToken: token}, token)
	if err == nil && !reply.Accepted && json.Unmarshal(reply.Payload, &rej) == nil && rej.ExecutionState != nil {
		return rej.ExecutionState.Status, true
	}
	return "", true
}

// readOutput passes the handler's output on to stderr, keeps its tail,
// and turns progress lines (on stdout) into statusDetails.
func (r *runner) readOutput(rd io.Reader, tail *tailBuffer, x *execution, progress bool) {
	scanner := bufio.NewScanner(rd)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		if progress && strings.HasPrefix(line, progressPrefix) {
			if r.progress(x, strings.TrimPrefix(line, progressPrefix)) {
				continue
			}
		}
		tail.WriteString(line + "\n")
		fmt.Fprintln(r.o.conn.IO.ErrOut, line)
	}
}

// progress applies a progress line's key=value pairs and reports them; it
// says whether the line was one.
func (r *runner) progress(x *execution, pairs string) bool {
	x.mu.Lock()
	changed := false
	for _, pair := range strings.Fields(pairs) {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || v == "" || jobs.ValidateStatusDetailKey(k) != nil {
			continue
		}
		if _, held := x.details[k]; !held && len(x.details) >= maxDetails-3 {
			continue // room for the outcome's exitCode, durationMs and output
		}
		x.details[k], changed = truncate(v), true
	}
	x.mu.Unlock()
	if !changed {
		return false
	}
	var step *int64
	if r.o.StepTimeout > 0 {
		step = &r.o.StepTimeout
	}
	if err := r.update(x, jobs.StatusInProgress, step); err != nil {
		fmt.Fprintf(r.o.conn.IO.ErrOut, "reporting progress of job %s failed: %v\n", x.jobID, err)
	}
	return true
}

func (r *runner) print(res result) error {
	if r.o.conn.Format() == render.JSON {
		return cmdutil.WriteJSONLine(r.o.conn.IO.Out, res)
	}
	how := fmt.Sprintf("exit %d", derefOr(res.ExitCode, -1))
	if res.Signal != "" {
		how = "killed by " + res.Signal
	}
	_, err := fmt.Fprintf(r.o.conn.IO.Out, "job %s: %s in %s (%s)\n", res.JobID, res.Status, time.Duration(res.DurationMs)*time.Millisecond, how)
	return err
}

func derefOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}

// truncate makes s a statusDetails value the service takes: no control
// or format characters (a line break shows as ⏎, others as U+FFFD) and
// its last maxDetailValue characters.
func truncate(s string) string {
	r := []rune(strings.Map(func(c rune) rune {
		switch {
		case c == '\n':
			return '⏎'
		case unicode.Is(unicode.C, c):
			return utf8.RuneError
		}
		return c
	}, s))
	if len(r) > maxDetailValue {
		r = r[len(r)-maxDetailValue:]
	}
	return string(r)
}

// tailBuffer keeps the last maxDetailValue characters written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []rune
}

func (t *tailBuffer) WriteString(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, []rune(s)...)
	if len(t.buf) > maxDetailValue {
		t.buf = t.buf[len(t.buf)-maxDetailValue:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimRight(string(t.buf), "\n")
}
