package emulatorcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/render"
)

// minWatchInterval keeps --watch from hammering the control plane.
const minWatchInterval = 100 * time.Millisecond

type describeJobOptions struct {
	ctl controlOptions

	JobID    string
	Document bool
	Watch    bool
	Interval time.Duration
}

func newDescribeJobCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &describeJobOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "describe-job <job-id> [--document | --watch]",
		Short: "Describe a job: status, targets, timestamps and execution counts",
		Long: `Describe a job of a running emulator (DescribeJob, GET /jobs/JOB-ID).

Prints {"job":{...}} as AWS IoT's DescribeJob does: status, targets as thing
and thing group ARNs, timestamps in epoch seconds, jobProcessDetails with the
number of things in each execution status and the rollout, abort and retry
configurations. With --document it prints the job document instead
(GetJobDocument): {"document":"..."}, the document as a string.

With --watch it follows the job's rollout: it polls DescribeJob and the
emulator's rollout view (GET /emulator/jobs/JOB-ID/rollout, which AWS does
not have) every --interval, until the job is COMPLETED or CANCELED (exit 0);
Ctrl-C stops it sooner (exit 130). --timeout bounds each request.

On a terminal the view is redrawn in place each time something changes: the
job's status, the things per execution status and their total, the rollout
rate per minute with the things notified and still waiting, the executions
retried, and the abort criteria (armed, or the one that fired).

Piped (or -o json) it prints one JSON line each time the job or its rollout
changed since the last poll, the first poll included:
  {"at":1712345678.123,"job":{...},"rollout":{...}}
job is DescribeJob's job, rollout the emulator's view
({"jobId","ratePerMinute","notified","waiting","nextAt","aborted","retried"})
and at the time of the poll that saw the change, in epoch seconds.`,
		Example: `  $ iotjobs emulator describe-job job-42
  $ iotjobs emulator describe-job job-42 | jq .job.jobProcessDetails
  $ iotjobs emulator describe-job job-42 --document | jq -r .document | jq .
  $ iotjobs emulator describe-job fw-1-2-3 --watch
  $ iotjobs emulator describe-job fw-1-2-3 --watch --interval 200ms | jq -c '[.job.status, .rollout.notified, .rollout.waiting]'`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: opts.ctl.completeJobIDs,
		RunE:              jobVerb(&opts.JobID, &opts.ctl, opts.check, func(ctx context.Context) error { return runDescribeJob(ctx, opts) }),
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Document, "document", false, "print the job document (GetJobDocument) instead")
	f.BoolVarP(&opts.Watch, "watch", "w", false, "follow the job's rollout until the job is COMPLETED or CANCELED")
	f.DurationVar(&opts.Interval, "interval", time.Second, "with --watch, poll every `DURATION`, at least "+minWatchInterval.String())
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func (o *describeJobOptions) check(cmd *cobra.Command) error {
	switch interval := cmd.Flags().Changed("interval"); {
	case o.Watch && o.Document:
		return cmdutil.Usagef("--watch and --document exclude each other: the document does not change; e.g. describe-job JOB-ID --watch")
	case interval && !o.Watch:
		return cmdutil.Usagef("--interval is for --watch only; e.g. describe-job JOB-ID --watch --interval 500ms")
	case interval && o.Interval < minWatchInterval:
		return cmdutil.Usagef("invalid --interval %s: want a duration of at least %s, e.g. --interval 500ms", o.Interval, minWatchInterval)
	}
	return nil
}

func runDescribeJob(ctx context.Context, opts *describeJobOptions) error {
	switch {
	case opts.Watch:
		return watchJob(ctx, opts)
	case opts.Document:
		a, err := opts.ctl.client.getJobDocument(ctx, opts.JobID)
		return show(&opts.ctl, a, err, showJobDocument)
	}
	a, err := opts.ctl.client.describeJob(ctx, opts.JobID)
	return show(&opts.ctl, a, err, showJob)
}

// jobSnapshot is what one poll of --watch saw; piped, it is the line.
type jobSnapshot struct {
	At      iotapi.EpochSeconds `json:"at"`
	Job     iotapi.Job          `json:"job"`
	Rollout iotapi.RolloutState `json:"rollout"`
}

// watchJob polls the job and its rollout until the job has ended, and
// shows each change.
func watchJob(ctx context.Context, opts *describeJobOptions) error {
	c := opts.ctl.client
	view := &rolloutView{printer: render.New(opts.ctl.IO, render.Pretty), inPlace: opts.ctl.IO.IsStdoutTTY()}
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()
	var last []byte
	for {
		job, err := c.describeJob(ctx, opts.JobID)
		if err != nil {
			return err
		}
		rollout, err := c.rolloutState(ctx, opts.JobID)
		if err != nil {
			return err
		}
		snap := jobSnapshot{At: iotapi.Epoch(time.Now()), Job: job.out.Job, Rollout: rollout.out}
		seen, err := json.Marshal([]any{snap.Job, snap.Rollout})
		if err != nil {
			return err
		}
		if !bytes.Equal(seen, last) {
			last = seen
			if opts.ctl.Output == outputJSON {
				err = cmdutil.WriteJSONLine(opts.ctl.IO.Out, snap)
			} else {
				err = view.draw(opts.ctl.IO.Out, snap)
			}
			if err != nil {
				return err
			}
		}
		if s := snap.Job.Status; s == iotapi.JobCompleted || s == iotapi.JobCanceled {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err() // interrupted: exit 130, the view left as it was
		case <-tick.C:
		}
	}
}

// rolloutView is --watch on a terminal: one frame, redrawn in place.
type rolloutView struct {
	printer *render.Printer
	// inPlace: stdout is a terminal, where the cursor can go back over the
	// last frame; otherwise (-o pretty piped) frames follow each other.
	inPlace bool
	lines   int // the last frame's lines, to go back over
}

func (v *rolloutView) draw(out io.Writer, snap jobSnapshot) error {
	var frame bytes.Buffer
	w := tabwriter.NewWriter(&frame, 0, 0, 2, ' ', 0)
	j, r, p := snap.Job, snap.Rollout, v.printer
	counts := statusCounts(j.JobProcessDetails)
	var total int
	shown := make([]string, len(counts))
	for i, c := range counts {
		total += c.n
		label := string(c.status)
		if c.n > 0 {
			label = p.Status(c.status) // colour draws the eye to where things are
		}
		shown[i] = fmt.Sprintf("%s %d", label, c.n)
	}
	half := len(shown) / 2
	fields(w,
		[2]string{"JOB", j.JobID + " " + v.jobStatus(j.Status)},
		[2]string{"THINGS", strings.Join(shown[:half], "  ")},
		[2]string{"", strings.Join(append(shown[half:], fmt.Sprintf("total %d", total)), "  ")},
		[2]string{"ROLLOUT", rolloutLine(j, r)},
		[2]string{"RETRIES", retryLine(j.JobExecutionsRetryConfig, r.Retried)},
		[2]string{"ABORT", v.abortLine(j.AbortConfig, r.Aborted)},
		[2]string{"UPDATED", p.Paint(jobs.HumanTime(snap.At.Time), color.Faint)},
	)
	if err := w.Flush(); err != nil {
		return err
	}
	if v.inPlace && v.lines > 0 {
		// Up to the first line of the last frame, and clear from there.
		fmt.Fprintf(out, "\r\033[%dA\033[J", v.lines)
	}
	v.lines = bytes.Count(frame.Bytes(), []byte("\n"))
	_, err := out.Write(frame.Bytes())
	return err
}

func (v *rolloutView) jobStatus(s iotapi.JobStatus) string {
	switch s {
	case iotapi.JobCompleted:
		return v.printer.Paint(string(s), color.FgGreen, color.Bold)
	case iotapi.JobCanceled:
		return v.printer.Paint(string(s), color.FgMagenta, color.Bold)
	}
	return v.printer.Paint(string(s), color.FgYellow, color.Bold)
}

// rolloutLine says "10 per minute: 60 notified, 40 waiting, next at ...".
func rolloutLine(j iotapi.Job, r iotapi.RolloutState) string {
	pace := "all at once"
	if j.JobExecutionsRolloutConfig != nil {
		pace = fmt.Sprintf("%d per minute", r.RatePerMinute)
	}
	line := fmt.Sprintf("%s: %d notified, %d waiting", pace, r.Notified, r.Waiting)
	if !r.NextAt.IsZero() {
		line += ", next at " + r.NextAt.String()
	}
	return line
}

// retryLine says "2 retried (FAILED up to 2 times)".
func retryLine(c *iotapi.JobExecutionsRetryConfig, retried int64) string {
	if c == nil {
		return "none configured"
	}
	return fmt.Sprintf("%d retried (%s)", retried, retryCriteria(c))
}

// retryCriteria says "FAILED up to 2 times, TIMED_OUT up to 1 times".
func retryCriteria(c *iotapi.JobExecutionsRetryConfig) string {
	criteria := make([]string, len(c.CriteriaList))
	for i, r := range c.CriteriaList {
		criteria[i] = fmt.Sprintf("%s up to %d times", r.FailureType, r.NumberOfRetries)
	}
	return strings.Join(criteria, ", ")
}

// rolloutConfig says how the job's rollout is paced: "at most 100 per
// minute", "from 10 per minute, x2 every 50 things notified, at most 100".
func rolloutConfig(c *iotapi.JobExecutionsRolloutConfig) string {
	x := c.ExponentialRate
	if x == nil {
		return fmt.Sprintf("at most %d per minute", *c.MaximumPerMinute)
	}
	every, what := x.RateIncreaseCriteria.NumberOfNotifiedThings, "notified"
	if every == nil {
		every, what = x.RateIncreaseCriteria.NumberOfSucceededThings, "succeeded"
	}
	line := fmt.Sprintf("from %d per minute, x%s every %d things %s", x.BaseRatePerMinute,
		strconv.FormatFloat(x.IncrementFactor, 'f', -1, 64), *every, what)
	if c.MaximumPerMinute != nil {
		line += fmt.Sprintf(", at most %d", *c.MaximumPerMinute)
	}
	return line
}

// abortLine says which criterion fired, or which are armed.
func (v *rolloutView) abortLine(c *iotapi.AbortConfig, fired *iotapi.AbortCriteria) string {
	switch {
	case fired != nil:
		return v.printer.Paint("fired: "+abortCriterion(*fired)+", job canceled", color.FgRed, color.Bold)
	case c == nil:
		return "none configured"
	}
	return "armed: " + abortCriteria(c)
}

// abortCriteria lists the criteria, "; " between them.
func abortCriteria(c *iotapi.AbortConfig) string {
	criteria := make([]string, len(c.CriteriaList))
	for i, a := range c.CriteriaList {
		criteria[i] = abortCriterion(a)
	}
	return strings.Join(criteria, "; ")
}

// abortCriterion says "FAILED at 20% of things notified, once 10 are".
func abortCriterion(a iotapi.AbortCriteria) string {
	return fmt.Sprintf("%s at %s%% of things notified, once %d are", a.FailureType,
		strconv.FormatFloat(a.ThresholdPercentage, 'f', -1, 64), a.MinNumberOfExecutedThings)
}

// showJobDocument prints the document itself: the person asked for it.
func showJobDocument(w io.Writer, out iotapi.GetJobDocumentOutput) {
	fmt.Fprintln(w, out.Document)
}

func showJob(w io.Writer, out iotapi.DescribeJobOutput) {
	j := out.Job
	status := string(j.Status)
	if j.ForceCanceled != nil && *j.ForceCanceled {
		status += " (forced)"
	}
	things := make([]string, len(j.Targets))
	for i, t := range j.Targets {
		things[i] = iotapi.TargetName(t)
	}
	var rollout, retries, abort string
	if c := j.JobExecutionsRolloutConfig; c != nil {
		rollout = rolloutConfig(c)
	}
	if c := j.JobExecutionsRetryConfig; c != nil {
		retries = retryCriteria(c)
	}
	if c := j.AbortConfig; c != nil {
		abort = abortCriteria(c)
	}
	var timeout string
	if tc := j.TimeoutConfig; tc != nil && tc.InProgressTimeoutInMinutes != nil {
		timeout = fmt.Sprintf("%d min", *tc.InProgressTimeoutInMinutes)
	}
	fields(w,
		[2]string{"JOB ID", j.JobID}, [2]string{"ARN", j.JobArn}, [2]string{"STATUS", status},
		[2]string{"DESCRIPTION", j.Description}, [2]string{"TARGETS", strings.Join(things, ", ")},
		[2]string{"SELECTION", j.TargetSelection}, [2]string{"ROLLOUT", rollout}, [2]string{"RETRIES", retries}, [2]string{"ABORT", abort},
		[2]string{"EXECUTIONS", executionCounts(j.JobProcessDetails)}, [2]string{"IN-PROGRESS TIMEOUT", timeout},
		[2]string{"CREATED", j.CreatedAt.String()}, [2]string{"UPDATED", j.LastUpdatedAt.String()},
		[2]string{"COMPLETED", j.CompletedAt.String()},
		[2]string{"COMMENT", j.Comment}, [2]string{"REASON CODE", j.ReasonCode},
	)
}

// statusCount is the number of things whose execution is in one status.
type statusCount struct {
	status jobs.Status
	n      int
}

// statusCounts are the counts of d in the order of an execution's life.
func statusCounts(d iotapi.JobProcessDetails) []statusCount {
	return []statusCount{
		{jobs.StatusQueued, d.NumberOfQueuedThings}, {jobs.StatusInProgress, d.NumberOfInProgressThings},
		{jobs.StatusSucceeded, d.NumberOfSucceededThings}, {jobs.StatusFailed, d.NumberOfFailedThings},
		{jobs.StatusRejected, d.NumberOfRejectedThings}, {jobs.StatusTimedOut, d.NumberOfTimedOutThings},
		{jobs.StatusCanceled, d.NumberOfCanceledThings}, {jobs.StatusRemoved, d.NumberOfRemovedThings},
	}
}

// executionCounts says "1 queued, 2 succeeded", in the order of an
// execution's life.
func executionCounts(d iotapi.JobProcessDetails) string {
	var parts []string
	for _, c := range statusCounts(d) {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, strings.ToLower(strings.ReplaceAll(string(c.status), "_", " "))))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
