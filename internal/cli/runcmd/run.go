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
	"slices"
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
	HandlerDir  string
	Allow       []string
	DryRun      bool
	Once        bool
	MaxJobs     int
	StepTimeout int64
	Grace       time.Duration
	ThingsFile  string
	Simulate    string
	// Minute is how long the service's minute lasts, so that the step
	// timer is renewed in the service's time: the emulator's --minute,
	// its time scale for rehearsals (against AWS IoT a minute is a minute).
	Minute time.Duration

	sim           *simulation
	fleet         bool
	clientIDGiven bool
	// printMu orders the lines of a fleet's runners; view is the fleet's
	// table, on a terminal (nil otherwise).
	printMu *sync.Mutex
	view    *fleetView
}

// The statusDetails the runner reports, within the service's limits.
const (
	maxDetails     = 10
	maxDetailValue = 1024
	progressPrefix = "::progress "
)

// NewRunCmd is `iotjobs run`.
func NewRunCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &runOptions{conn: cmdutil.ConnOptions{IO: ios, FanOut: true}, printMu: &sync.Mutex{}}
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
expectedVersion and the executionNumber of the execution it is for. Against
an emulator whose minute is shorter (iotjobs emulator --minute 1s), give run
the same --minute, or the timer runs out before its renewal.

When the execution ends under the handler (canceled, or timed out by a
timer: a notify-next that no longer shows it, or shows its retry, a new
executionNumber of the same job), the handler is stopped (SIGTERM, then
SIGKILL 5 s later), run says what happened and sends no update, which the
service would refuse. When the final update is refused all the same (the
execution ended unseen), run reports the status the service has, never
the handler's. A retry is taken as any other job.

--once handles one job (waiting for one if none is pending) and exits with
its outcome: 0 for SUCCEEDED, 1 otherwise. --max-jobs N stops after N.
Ctrl-C or SIGTERM takes no new job: a running handler has --grace to
finish, then gets SIGTERM and, 5 s later, SIGKILL; its outcome is reported
before the runner exits. If the runner itself dies, the execution stays
IN_PROGRESS and the next run resumes it.

With --handler-dir DIR, AWS IoT Device Client job documents ("version":
"1.0", steps, finalStep) run as the Device Client runs them: each step in
order, stopping at a failure unless its ignoreStepFailure is "true", and
finalStep only when every step succeeded. A runHandler step runs the
handler named in DIR (or in its input.path) with runAsUser and its args as
arguments (runAsUser is passed on, not switched to); a handler, or its
directory, writable by group or others is refused. A runCommand step runs
its comma-separated command only when the program is on --allow. A step
with allowStdErr fails on more stderr lines than that. statusDetails then
carry the Device Client's keys: reason, stderr, stdout (with
includeStdOut), exitCode and durationMs. Other documents go to --exec, if
given. --dry-run prints what the next job would run, and runs nothing.

A simulated fleet: --things FILE (or -t a,b,...) runs every thing in this
process, each on its own connection with the thing's name as client id
(--client-id ID makes it ID-THING), and --simulate
'ok=0.9,fail=0.08,hang=0.02,duration=2s..30s' stands in for a handler:
each job ends ok (exit 0) or fail (exit 1) after a duration drawn in the
range, or hangs until its execution ends (a step timeout, a cancel) or the
run stops; the weights are relative. Against the emulator with --minute, a
rollout to a thousand devices is rehearsed in a minute.

Each finished execution prints one line: piped, JSON
{"thing":..,"jobId":..,"executionNumber":N,"status":"SUCCEEDED|FAILED","exitCode":N,"durationMs":N};
on a terminal, a sentence. Over many things (--things, or -t a,b,...)
with stderr on a terminal, a table redrawn in place on stderr stands for
the sentences and the lines of jobs starting: the things, the executions
running and those finished, by status, and the retries; other messages,
and handlers' output, show above it. Piped, the JSON lines are the same.`,
		Example: `  $ iotjobs run -t my-thing --exec ./install.sh --once
  $ iotjobs run -t my-thing --handler-dir ~/.aws-iot-device-client/jobs --allow reboot --dry-run
  $ iotjobs run --things fleet.txt --simulate 'ok=0.9,fail=0.08,hang=0.02,duration=2s..30s' --once --step-timeout 5
  $ iotjobs run -t my-thing --exec 'jq -r .url | xargs curl -fsO' --step-timeout 10
  $ iotjobs run -t my-thing --exec ./handler.sh --max-jobs 5 | jq -r .status`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			if opts.fleet {
				return runFleet(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Exec, "exec", "", "the handler `COMMAND`, run with /bin/sh -c for each job (this or --handler-dir)")
	f.StringVar(&opts.HandlerDir, "handler-dir", "", "run AWS IoT Device Client job documents (\"version\": \"1.0\") with the handlers in `DIR`")
	f.StringSliceVar(&opts.Allow, "allow", nil, "the `PROGRAM`s a Device Client runCommand step may run (repeatable; none by default)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print what would run for the next job, and run nothing")
	f.StringVar(&opts.ThingsFile, "things", "", "run every thing named in `FILE` (one per line, - for stdin) in this process, each on its own connection")
	f.StringVar(&opts.Simulate, "simulate", "", "no handler: each job ends by chance, e.g. `ok=0.9,fail=0.08,hang=0.02,duration=2s..30s`")
	_ = cmd.MarkFlagDirname("handler-dir")
	f.BoolVar(&opts.Once, "once", false, "handle one job and exit with its outcome")
	f.IntVar(&opts.MaxJobs, "max-jobs", 0, "stop after `N` jobs (0: no limit)")
	f.Int64Var(&opts.StepTimeout, "step-timeout", 0, "`MINUTES` (1-10080) of each execution's step timer, renewed while the handler runs (0: none)")
	f.DurationVar(&opts.Minute, "minute", time.Minute, "the service's minute, a `DURATION`: against an emulator started with --minute, the same, so that --step-timeout is renewed in time")
	f.DurationVar(&opts.Grace, "grace", 30*time.Second, "on Ctrl-C or SIGTERM, how long a running handler has to finish, a `DURATION`")
	opts.conn.AddConnFlags(cmd)
	cmdutil.MarkStream(cmd)
	return cmd
}

func (o *runOptions) complete(cmd *cobra.Command) error {
	if err := o.conn.Complete(cmd); err != nil {
		return err
	}
	if o.ThingsFile != "" {
		names, err := cmdutil.ReadThings(o.ThingsFile, o.conn.IO.In)
		if err != nil {
			return err
		}
		for _, name := range names {
			if err := jobs.ValidateThingName(name); err != nil {
				return &cmdutil.UsageError{Err: fmt.Errorf("%s: %w", o.ThingsFile, err)}
			}
			if !slices.Contains(o.conn.Things, name) {
				o.conn.Things = append(o.conn.Things, name)
			}
		}
	}
	if len(o.conn.Things) == 0 {
		return cmdutil.Usagef("no thing given: pass -t/--thing NAME[,NAME...], --things FILE, or set %s", cmdutil.EnvThing)
	}
	o.fleet = len(o.conn.Things) > 1 || o.ThingsFile != ""
	o.clientIDGiven = cmd.Flags().Changed("client-id")
	if o.fleet && o.DryRun {
		return cmdutil.Usagef("--dry-run shows one thing's next job: give one thing")
	}
	if o.Simulate != "" {
		var err error
		if o.sim, err = parseSimulation(o.Simulate); err != nil {
			return cmdutil.Usagef("invalid --simulate %v", err)
		}
	}
	if o.HandlerDir != "" {
		if info, err := os.Stat(o.HandlerDir); err != nil || !info.IsDir() {
			return cmdutil.Usagef("invalid --handler-dir %s: not a directory", o.HandlerDir)
		}
	}
	switch {
	case strings.TrimSpace(o.Exec) == "" && o.HandlerDir == "" && o.sim == nil:
		return cmdutil.Usagef("run needs the handler: --exec 'COMMAND' (e.g. --exec ./install.sh), --handler-dir DIR for Device Client job documents, or --simulate")
	case o.MaxJobs < 0:
		return cmdutil.Usagef("invalid --max-jobs %d: must be 0 (no limit) or more", o.MaxJobs)
	case o.Grace < 0:
		return cmdutil.Usagef("invalid --grace %s: must be 0 or more", o.Grace)
	case o.Minute <= 0:
		return cmdutil.Usagef("invalid --minute %s: must be more than 0", o.Minute)
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
}

func runRun(ctx context.Context, o *runOptions) error {
	work := context.WithoutCancel(ctx)
	w, err := o.conn.DialSession(ctx, []string{jobs.NotifyNextTopic(o.conn.Thing).String()})
	if err != nil {
		return err
	}
	defer w.Close()
	r := &runner{o: o, w: w, work: work}
	if o.DryRun {
		return r.dryRun()
	}
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

// dryRun prints what the next job would run, without starting it:
// describe $next changes nothing.
func (r *runner) dryRun() error {
	req := jobs.DescribeRequest{ClientToken: uuid.NewString()}
	var resp jobs.ExecutionResponse
	if err := r.request(jobs.DescribeTopic(r.o.conn.Thing, jobs.NextJobID), req, req.ClientToken, &resp); err != nil {
		return err
	}
	out := r.o.conn.IO.Out
	if resp.Execution == nil {
		_, err := fmt.Fprintf(out, "nothing pending for %s\n", r.o.conn.Thing)
		return err
	}
	doc := []byte(resp.Execution.JobDocument)
	steps, final, _ := r.plan(doc)
	fmt.Fprintf(out, "job %s (execution %d, %s) would run:\n", resp.Execution.JobID, resp.Execution.ExecutionNumber, resp.Execution.Status)
	if final != nil {
		steps = append(steps, *final)
	}
	for _, s := range steps {
		switch {
		case s.refused != "":
			fmt.Fprintf(out, "  %s: refused: %s\n", s.name, s.refused)
		default:
			note := ""
			if s.ignoreFailure {
				note = " (its failure ignored)"
			}
			fmt.Fprintf(out, "  %s: %s%s\n", s.name, cmdutil.ShellJoin(s.argv...), note)
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
	switch {
	case r.o.view != nil:
		r.o.view.waitingForJob(1)
		defer r.o.view.waitingForJob(-1)
	case r.o.conn.IO.IsStderrTTY():
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
	number  int64
	version int64
	details map[string]string
	// full: a progress key found no room, and the handler was told.
	full bool
}

// update sends an update of the execution and learns its new version. It
// names the execution by its number: without it the service updates the
// job's latest execution, which a retry queued after this one would be.
func (r *runner) update(x *execution, status jobs.Status, stepTimeout *int64) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	v := jobs.Version(x.version)
	req := jobs.UpdateRequest{Status: status, StatusDetails: x.details, ExpectedVersion: &v, ExecutionNumber: &x.number,
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

// step is one process a job runs: the --exec handler, or one step of a
// Device Client document.
type step struct {
	name          string
	simulate      bool // --simulate: no process
	argv          []string
	ignoreFailure bool
	allowStdErr   *int // stderr lines allowed; nil: any
	// refused says why the step may not run (a command not allowed, an
	// unsafe handler); it then fails without running.
	refused string
}

// stepOutcome is how a step ended.
type stepOutcome struct {
	exitCode               *int
	signal                 string
	err                    error // the process could not be run, or waited for
	output, stdout, stderr *tailBuffer
	stderrLines            int
}

// failure says why the step failed, "" when it succeeded.
func (out stepOutcome) failure(s step) string {
	switch {
	case s.refused != "":
		return s.refused
	case out.err != nil:
		return out.err.Error()
	case out.signal != "":
		return "killed by " + out.signal
	case out.exitCode != nil && *out.exitCode != 0:
		return fmt.Sprintf("exited with status %d", *out.exitCode)
	case s.allowStdErr != nil && out.stderrLines > *s.allowStdErr:
		return fmt.Sprintf("printed %d lines on stderr, more than the %d allowed", out.stderrLines, *s.allowStdErr)
	}
	return ""
}

// jobRun is what spans a job's steps: the execution, the watch on its
// end, the step timer, the stop on Ctrl-C.
type jobRun struct {
	je         *jobs.JobExecution
	x          *execution
	gone       chan struct{}
	renew      <-chan time.Time
	stopping   <-chan struct{}
	kill       <-chan time.Time
	stopped    bool        // Ctrl-C or SIGTERM came: no new step
	endedUnder bool        // the execution ended under the handler...
	ended      jobs.Status // ...in this status ("" when not said)
}

// handle runs the job's steps and reports the outcome.
func (r *runner) handle(ctx context.Context, je *jobs.JobExecution) (result, error) {
	o := r.o
	res := result{Thing: o.conn.Thing, JobID: je.JobID, ExecutionNumber: je.ExecutionNumber}
	doc := []byte(je.JobDocument)
	if len(doc) == 0 {
		doc = []byte("{}")
	}
	steps, final, dc := r.plan(doc)
	jr := &jobRun{je: je, x: &execution{jobID: je.JobID, number: je.ExecutionNumber, version: je.VersionNumber, details: map[string]string{}},
		gone: make(chan struct{}, 1), stopping: ctx.Done()}
	if o.StepTimeout > 0 {
		ticker := time.NewTicker(time.Duration(o.StepTimeout) * o.Minute / 2)
		defer ticker.Stop()
		jr.renew = ticker.C
	}
	// The execution may end under the handler (canceled, timed out, and
	// maybe retried): a notify-next that no longer shows it as the head
	// says so.
	watchCtx, stopWatching := context.WithCancel(r.work)
	defer stopWatching()
	go r.watchHead(watchCtx, je, jr.gone)
	switch {
	case o.view != nil:
		o.view.started(je.ExecutionNumber)
	case o.conn.IO.IsStderrTTY():
		fmt.Fprintf(o.conn.IO.ErrOut, "running job %s (execution %d, version %d)\n", je.JobID, je.ExecutionNumber, je.VersionNumber)
	}

	start := time.Now()
	var last stepOutcome
	reason := ""
	run := func(s step) bool { // reports whether the job may go on
		if jr.endedUnder || jr.stopped {
			if reason == "" && jr.stopped {
				reason = "stopped before step " + s.name
			}
			return false
		}
		last = r.runStep(jr, s, doc)
		if why := last.failure(s); why != "" {
			if s.ignoreFailure {
				fmt.Fprintf(o.conn.IO.ErrOut, "job %s: step %s failed (%s); its failure is ignored\n", je.JobID, s.name, why)
				return true
			}
			reason = why
			if dc {
				reason = "step " + s.name + ": " + why
			}
			return false
		}
		return true
	}
	ok := true
	for _, s := range steps {
		if ok = run(s); !ok {
			break
		}
	}
	if ok && final != nil {
		ok = run(*final)
	}
	stopWatching()

	res.DurationMs = time.Since(start).Milliseconds()
	res.ExitCode, res.Signal = last.exitCode, last.signal
	res.Status = jobs.StatusSucceeded
	if !ok {
		res.Status = jobs.StatusFailed
	}
	if last.err != nil {
		res.Error = last.err.Error()
	}
	outcome := map[string]string{"durationMs": strconv.FormatInt(res.DurationMs, 10)}
	if res.ExitCode != nil {
		outcome["exitCode"] = strconv.Itoa(*res.ExitCode)
	}
	if res.Signal != "" {
		outcome["signal"] = res.Signal
	}
	// Every path runs at least one step, so last has its tails.
	if dc {
		// The keys the AWS IoT Device Client reports.
		outcome["reason"] = reason
		outcome["stderr"] = last.stderr.String()
		if includeStdOut(doc) {
			outcome["stdout"] = last.stdout.String()
		}
	} else {
		outcome["output"] = last.output.String()
		if len(steps) == 1 && steps[0].refused != "" {
			outcome["reason"] = reason // nothing ran: the output says nothing
		}
	}
	x := jr.x
	x.mu.Lock()
	for _, k := range []string{"reason", "exitCode", "signal", "durationMs", "stderr", "stdout", "output"} {
		if _, held := x.details[k]; outcome[k] != "" && (held || len(x.details) < maxDetails) {
			x.details[k] = truncate(outcome[k])
		}
	}
	x.mu.Unlock()
	if jr.endedUnder {
		// It ended without us: no update is taken any more.
		res.Status, res.Error = jr.ended, "the execution ended while its handler ran"
		return res, r.print(res)
	}
	err := r.update(x, res.Status, nil)
	var rej *cmdutil.RejectedError
	if errors.As(err, &rej) {
		// The service refused the outcome, so the execution does not have
		// it: the status reported is the one it has, which the refusal
		// carries or describe tells ("" when neither says).
		if rej.State != nil {
			res.Status = rej.State.Status
		} else {
			res.Status, _ = r.executionStatus(je.JobID, je.ExecutionNumber)
		}
	}
	switch {
	case rej != nil && res.Status.Terminal():
		// It ended (a timer ran out) between the handler's end and our
		// report: the service's status is the outcome, as above.
		res.Error = "the execution ended before its outcome was reported"
		fmt.Fprintf(o.conn.IO.ErrOut, "job %s: the execution ended %s before the handler's outcome was reported\n", je.JobID, res.Status)
	case err != nil:
		res.Error = "the final update failed: " + strings.SplitN(err.Error(), "\n", 2)[0]
		fmt.Fprintf(o.conn.IO.ErrOut, "job %s: %v\n", je.JobID, err)
	}
	return res, r.print(res)
}

// runStep runs one step's process to its end, watching meanwhile for the
// execution's end, the step timer and a stop.
func (r *runner) runStep(jr *jobRun, s step, doc []byte) stepOutcome {
	o, je := r.o, jr.je
	out := stepOutcome{output: &tailBuffer{}, stdout: &tailBuffer{}, stderr: &tailBuffer{}}
	if s.refused != "" {
		fmt.Fprintf(o.conn.IO.ErrOut, "job %s: step %s refused: %s\n", je.JobID, s.name, s.refused)
		return out
	}
	if s.simulate {
		return r.simulateStep(jr)
	}
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Stdin = strings.NewReader(string(doc) + "\n")
	cmd.Env = append(os.Environ(),
		"IOTJOBS_JOB_ID="+je.JobID, "IOTJOBS_THING="+o.conn.Thing,
		"IOTJOBS_EXECUTION_NUMBER="+strconv.FormatInt(je.ExecutionNumber, 10),
		"IOTJOBS_VERSION_NUMBER="+strconv.FormatInt(je.VersionNumber, 10))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // signals reach its children
	stdout, err := cmd.StdoutPipe()
	if err == nil {
		var stderr io.ReadCloser
		if stderr, err = cmd.StderrPipe(); err == nil {
			err = cmd.Start()
			if err == nil {
				var readers sync.WaitGroup
				readers.Go(func() { r.readOutput(stdout, jr.x, true, out.output, out.stdout) })
				readers.Go(func() { out.stderrLines = r.readOutput(stderr, jr.x, false, out.output, out.stderr) })
				exited := make(chan error, 1)
				go func() { readers.Wait(); exited <- cmd.Wait() }()
				err = r.supervise(jr, cmd, exited)
			}
		}
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		code := 0
		out.exitCode = &code
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		code := exitErr.ExitCode()
		out.exitCode = &code
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			out.signal = ws.Signal().String()
		}
	default:
		out.err = fmt.Errorf("run %s: %w", s.argv[0], err)
	}
	return out
}

// supervise waits for the step's process to exit, meanwhile renewing the
// step timer, stopping the process when the execution ends under it, and
// giving it --grace after Ctrl-C or SIGTERM.
func (r *runner) supervise(jr *jobRun, cmd *exec.Cmd, exited <-chan error) error {
	o, je := r.o, jr.je
	terminate := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		go func() {
			time.Sleep(5 * time.Second)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}()
	}
	if jr.stopped && jr.kill == nil {
		terminate() // the grace ran out during an earlier step
	}
	for {
		select {
		case err := <-exited:
			return err
		case <-jr.gone:
			if st, over := r.executionStatus(je.JobID, je.ExecutionNumber); over && !jr.endedUnder {
				jr.ended, jr.endedUnder = st, true
				fmt.Fprintf(o.conn.IO.ErrOut, "job %s is %s: its handler is stopped (SIGTERM, then SIGKILL in 5s)\n", je.JobID, cmp.Or(string(st), "over"))
				terminate()
			}
		case <-jr.renew:
			if err := r.update(jr.x, jobs.StatusInProgress, &o.StepTimeout); err != nil {
				fmt.Fprintf(o.conn.IO.ErrOut, "renewing the step timer of job %s failed: %v\n", je.JobID, err)
			}
		case <-jr.stopping:
			jr.stopping, jr.stopped = nil, true
			fmt.Fprintf(o.conn.IO.ErrOut, "stopping: no new job; the handler of job %s has %s to finish\n", je.JobID, o.Grace)
			jr.kill = time.After(o.Grace)
		case <-jr.kill:
			jr.kill = nil
			fmt.Fprintf(o.conn.IO.ErrOut, "the handler of job %s did not finish within %s: SIGTERM, then SIGKILL in 5s\n", je.JobID, o.Grace)
			terminate()
		}
	}
}

// watchHead signals gone when a notify-next no longer names the execution
// je as the head of the queue: it names another job, none, or another
// execution of the same job (a retry queued when je ended). The execution
// may have ended (canceled, timed out).
func (r *runner) watchHead(ctx context.Context, je *jobs.JobExecution, gone chan<- struct{}) {
	for {
		e, err := r.w.Next(ctx)
		if err != nil {
			return
		}
		if e.Kind != mqttclient.Message {
			continue
		}
		var m jobs.NotifyNextMessage
		if json.Unmarshal(e.Payload, &m) != nil {
			continue
		}
		if head := m.Execution; head == nil || head.JobID != je.JobID || head.ExecutionNumber != je.ExecutionNumber {
			select {
			case gone <- struct{}{}:
			default:
			}
		}
	}
}

// executionStatus asks the service for the status of execution number of
// jobID: describe tells it while the execution is pending, and answers
// TerminalStateReached once it has ended, when cmdutil.ProbeEnded learns
// the status, as iotjobs wait does. over says it has ended, its status ""
// when the service did not say; status is "" and over false when describe
// got no answer or another refusal (the execution was deleted).
func (r *runner) executionStatus(jobID string, number int64) (status jobs.Status, over bool) {
	ctx, cancel := context.WithTimeout(r.work, r.o.conn.Timeout)
	defer cancel()
	token := uuid.NewString()
	payload, _ := json.Marshal(jobs.DescribeRequest{ExecutionNumber: &number, IncludeJobDocument: new(false), ClientToken: token})
	reply, err := r.w.Request(ctx, jobs.DescribeTopic(r.o.conn.Thing, jobID), payload, token)
	if err != nil {
		return "", false
	}
	if reply.Accepted {
		var resp jobs.ExecutionResponse
		if json.Unmarshal(reply.Payload, &resp) != nil || resp.Execution == nil {
			return "", false
		}
		return resp.Execution.Status, resp.Execution.Status.Terminal()
	}
	var rej jobs.ErrorResponse
	if json.Unmarshal(reply.Payload, &rej) != nil || rej.Code != jobs.CodeTerminalStateReached {
		return "", false
	}
	if _, state, _, err := cmdutil.ProbeEnded(ctx, r.w.Conn, r.o.conn.Thing, jobID, &number, uuid.NewString()); err == nil && state != nil {
		return state.Status, true
	}
	return "", true
}

// readOutput passes the handler's output on to stderr, keeps its tail in
// tails, turns progress lines (on stdout) into statusDetails, and counts
// the other lines.
func (r *runner) readOutput(rd io.Reader, x *execution, progress bool, tails ...*tailBuffer) (lines int) {
	scanner := bufio.NewScanner(rd)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for scanner.Scan() {
		line := scanner.Text()
		if progress && strings.HasPrefix(line, progressPrefix) {
			if r.progress(x, strings.TrimPrefix(line, progressPrefix)) {
				continue
			}
		}
		lines++
		for _, t := range tails {
			t.WriteString(line + "\n")
		}
		fmt.Fprintln(r.o.conn.IO.ErrOut, line)
	}
	return lines
}

// progress applies a progress line's key=value pairs and reports them; it
// says whether the line was one.
func (r *runner) progress(x *execution, pairs string) bool {
	x.mu.Lock()
	changed := false
	var refused []string
	for _, pair := range strings.Fields(pairs) {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || v == "" || jobs.ValidateStatusDetailKey(k) != nil {
			fmt.Fprintf(r.o.conn.IO.ErrOut, "job %s: progress %q ignored: want key=value, the key 1 to 128 of a-z, A-Z, 0-9, ':', '_' and '-'\n", x.jobID, pair)
			continue
		}
		if _, held := x.details[k]; !held && len(x.details) >= maxDetails-3 {
			refused = append(refused, k) // room for the outcome's exitCode, durationMs and output
			continue
		}
		x.details[k], changed = truncate(v), true
	}
	if len(refused) > 0 && !x.full {
		x.full = true
		fmt.Fprintf(r.o.conn.IO.ErrOut, "job %s: progress %s not reported: statusDetails hold %d pairs, %d of them kept for the outcome (later new keys are dropped too; the keys held can still change)\n",
			x.jobID, strings.Join(refused, ", "), maxDetails, 3)
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
	r.o.printMu.Lock()
	defer r.o.printMu.Unlock()
	if v := r.o.view; v != nil {
		v.ended(res.Status)
		if r.o.conn.IO.IsStdoutTTY() && r.o.conn.Format() != render.JSON {
			return nil // the sentence would drown the table, which counts it
		}
	}
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
