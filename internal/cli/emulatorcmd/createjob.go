package emulatorcmd

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

type createJobOptions struct {
	ctl controlOptions

	JobID             string
	Targets           []string
	Groups            []string
	Document          string
	Description       string
	InProgressTimeout int64
	Continuous        bool
	MaxPerMinute      int64
	ExponentialRate   string
	Aborts            []string
	Retries           []string

	document          string // the document text, read and checked
	inProgressTimeout *int64 // nil when not given
	rollout           *iotapi.JobExecutionsRolloutConfig
	abort             *iotapi.AbortConfig
	retry             *iotapi.JobExecutionsRetryConfig
}

func newCreateJobCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &createJobOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "create-job <job-id> (--target THING... | --group NAME...) --document FILE|-|JSON",
		Short: "Create a job for things and thing groups",
		Long: `Create a job on a running emulator (CreateJob, PUT /jobs/JOB-ID).

One execution per thing targeted is queued, and each thing is told on its
notify and notify-next topics as AWS IoT would. A --target is a thing name, a
thing ARN or a thing group ARN; --group NAME targets the thing group NAME of
the emulator's account. Both may be repeated or given a comma-separated list.
--continuous makes the job CONTINUOUS: it also runs on the things added to
its groups later (targetSelection; SNAPSHOT otherwise). The document must be
a JSON object: inline JSON (starting with '{'), a file, or - for stdin.

The rollout, abort and retry configurations are CreateJob's:
  --max-per-minute N       jobExecutionsRolloutConfig.maximumPerMinute, 1..1000:
                           at most N things notified per minute
  --exponential-rate base=N,factor=F,notified=M (or succeeded=M)
                           exponentialRate: start at N things per minute and
                           multiply the rate by F (1.1..5, one decimal) each
                           time M more things were notified (or succeeded)
  --abort TYPE:PERCENT:MIN abortConfig criterion (action CANCEL): cancel the
                           job when over PERCENT (0..100) of the executed
                           things ended in TYPE (FAILED, REJECTED, TIMED_OUT or
                           ALL), once MIN things executed; up to 4, one per TYPE
  --retry TYPE:N           jobExecutionsRetryConfig criterion: retry an
                           execution that ended in TYPE (FAILED, TIMED_OUT or
                           ALL) up to N times; up to 2, 10 retries in all
They are checked here with AWS's ranges before anything is sent.

Prints the CreateJob output: {"jobArn":...,"jobId":...,"description":...}.`,
		Example: `  $ iotjobs emulator create-job job-42 --target my-thing --document '{"operation":"reboot"}'
  $ iotjobs emulator create-job fw-1-2-3 --target dev-1,dev-2 --document firmware.json --in-progress-timeout 30
  $ jq -n '{operation:"install",version:"1.2.3"}' | iotjobs emulator create-job fw-1-2-3 -t dev-1 --document -
  $ iotjobs emulator create-job job-43 -t my-thing --document job.json | jq -r .jobArn
  $ iotjobs emulator create-job fw-2 --group fleet --continuous --document firmware.json \
      --exponential-rate base=10,factor=2,notified=50 --max-per-minute 200 \
      --abort FAILED:20:10 --abort TIMED_OUT:50:5 --retry FAILED:2`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: cobra.NoFileCompletions, // a new id
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.complete(cmd, args); err != nil {
				return err
			}
			return runCreateJob(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&opts.Targets, "target", "t", nil, "`THING` name, thing ARN or thing group ARN to run the job on (repeatable, or comma-separated)")
	f.StringSliceVar(&opts.Groups, "group", nil, "`NAME` of a thing group to run the job on (repeatable, or comma-separated)")
	_ = cmd.RegisterFlagCompletionFunc("group", opts.ctl.completeGroups)
	f.BoolVar(&opts.Continuous, "continuous", false, "targetSelection CONTINUOUS: run on things added to the groups later too")
	f.StringVar(&opts.Document, "document", "", "the job document: a JSON object inline, a `FILE`, or - for stdin (required)")
	f.StringVar(&opts.Description, "description", "", "`TEXT` describing the job")
	f.Int64Var(&opts.InProgressTimeout, "in-progress-timeout", 0, "time an execution out `MINUTES` after it starts, 1..10080")
	f.Int64Var(&opts.MaxPerMinute, "max-per-minute", 0, "notify at most `N` things per minute, 1..1000")
	f.StringVar(&opts.ExponentialRate, "exponential-rate", "", "a rollout rate that grows, `SPEC` base=N,factor=F,notified=M (or succeeded=M)")
	f.StringSliceVar(&opts.Aborts, "abort", nil, "`TYPE:PERCENT:MIN`: cancel the job when over PERCENT% of the things executed (at least MIN) ended in TYPE (repeatable)")
	f.StringSliceVar(&opts.Retries, "retry", nil, "`TYPE:N`: retry an execution that ended in TYPE up to N times (repeatable)")
	opts.ctl.addControlFlags(cmd)
	_ = cmd.MarkFlagFilename("document", "json")
	_ = cmd.RegisterFlagCompletionFunc("target", cmdutil.CompleteProfileThings)
	return cmd
}

func (o *createJobOptions) complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.JobID, err = cmdutil.JobIDArg(args[0], ""); err != nil {
		return err
	}
	if len(o.Targets)+len(o.Groups) == 0 {
		return cmdutil.Usagef("create-job needs at least one --target THING or --group NAME, e.g. --target my-thing")
	}
	for _, target := range o.Targets {
		if _, err := iotapi.ParseTarget(target); err != nil {
			return cmdutil.Usagef("invalid --target: %s; e.g. --target my-thing or --target %s", serviceMessage(err), iotapi.ThingGroupARN("fleet"))
		}
	}
	for _, group := range o.Groups {
		if err := iotapi.ValidateThingGroupName(group); err != nil {
			return cmdutil.Usagef("invalid --group: %s; e.g. --group fleet", serviceMessage(err))
		}
		o.Targets = append(o.Targets, iotapi.ThingGroupARN(group))
	}
	if err := o.completeRollout(cmd); err != nil {
		return err
	}
	if o.document, err = readDocument(o.ctl.IO.In, o.Document); err != nil {
		return err
	}
	if cmd.Flags().Changed("in-progress-timeout") {
		if err := iotapi.CheckInProgressTimeout(o.InProgressTimeout); err != nil {
			return cmdutil.Usagef("invalid --in-progress-timeout %d: must be between 1 and %d minutes", o.InProgressTimeout, jobs.MaxInProgressTimeout)
		}
		o.inProgressTimeout = &o.InProgressTimeout
	}
	return o.ctl.complete(cmd)
}

func runCreateJob(ctx context.Context, opts *createJobOptions) error {
	in := iotapi.CreateJobInput{JobID: opts.JobID, Targets: opts.Targets, Document: opts.document, Description: opts.Description,
		JobExecutionsRolloutConfig: opts.rollout, AbortConfig: opts.abort, JobExecutionsRetryConfig: opts.retry}
	if opts.Continuous {
		in.TargetSelection = iotapi.TargetSelectionContinuous
	}
	if opts.inProgressTimeout != nil {
		in.TimeoutConfig = &iotapi.TimeoutConfig{InProgressTimeoutInMinutes: opts.inProgressTimeout}
	}
	a, err := opts.ctl.client.createJob(ctx, in)
	return show(&opts.ctl, a, err, showJobRef)
}

// showJobRef shows the output of CreateJob and CancelJob.
func showJobRef(w io.Writer, ref iotapi.JobRef) {
	fields(w, [2]string{"JOB ID", ref.JobID}, [2]string{"ARN", ref.JobArn}, [2]string{"DESCRIPTION", ref.Description})
}

// rolloutFlag is one of the rollout, abort and retry flags, for usage
// errors that name it and show an example.
type rolloutFlag struct{ name, example string }

var (
	flagMaxPerMinute    = rolloutFlag{"--max-per-minute", "100"}
	flagExponentialRate = rolloutFlag{"--exponential-rate", "base=10,factor=2,notified=50"}
	flagAbort           = rolloutFlag{"--abort", "FAILED:20:10"}
	flagRetry           = rolloutFlag{"--retry", "FAILED:2"}
)

// invalid is the usage error of value given to the flag.
func (f rolloutFlag) invalid(value, format string, args ...any) error {
	return cmdutil.Usagef("invalid %s %q: %s; e.g. %s %s", f.name, value, fmt.Sprintf(format, args...), f.name, f.example)
}

// check is the usage error of a failed iotapi check of the flag's values.
func (f rolloutFlag) check(value string, err error) error {
	if err == nil {
		return nil
	}
	return f.invalid(value, "%s", serviceMessage(err))
}

// completeRollout reads the rollout, abort and retry flags into the
// configurations sent, checked as the service checks them.
func (o *createJobOptions) completeRollout(cmd *cobra.Command) error {
	rollout := &iotapi.JobExecutionsRolloutConfig{}
	if cmd.Flags().Changed("max-per-minute") {
		capped := &iotapi.JobExecutionsRolloutConfig{MaximumPerMinute: &o.MaxPerMinute}
		if err := flagMaxPerMinute.check(strconv.FormatInt(o.MaxPerMinute, 10), capped.Check()); err != nil {
			return err
		}
		rollout.MaximumPerMinute = capped.MaximumPerMinute
	}
	if cmd.Flags().Changed("exponential-rate") {
		rate, err := parseExponentialRate(o.ExponentialRate)
		if err != nil {
			return err
		}
		exp := &iotapi.JobExecutionsRolloutConfig{ExponentialRate: rate}
		if err := flagExponentialRate.check(o.ExponentialRate, exp.Check()); err != nil {
			return err
		}
		rollout.ExponentialRate = rate
	}
	if rollout.MaximumPerMinute != nil || rollout.ExponentialRate != nil {
		o.rollout = rollout
	}
	if len(o.Aborts) > 0 {
		criteria, err := parseEach(o.Aborts, parseAbort)
		if err != nil {
			return err
		}
		o.abort = &iotapi.AbortConfig{CriteriaList: criteria}
		if err := flagAbort.check(strings.Join(o.Aborts, ","), o.abort.Check()); err != nil {
			return err
		}
	}
	if len(o.Retries) > 0 {
		criteria, err := parseEach(o.Retries, parseRetry)
		if err != nil {
			return err
		}
		o.retry = &iotapi.JobExecutionsRetryConfig{CriteriaList: criteria}
		if err := flagRetry.check(strings.Join(o.Retries, ","), o.retry.Check()); err != nil {
			return err
		}
	}
	return nil
}

// parseEach parses each of a repeated flag's values, stopping at the first
// bad one.
func parseEach[T any](args []string, parse func(string) (T, error)) ([]T, error) {
	out := make([]T, 0, len(args))
	for _, arg := range args {
		v, err := parse(arg)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// parseExponentialRate reads base=N,factor=F,notified=M (or succeeded=M);
// the ranges are left to the configuration's Check.
func parseExponentialRate(arg string) (*iotapi.ExponentialRolloutRate, error) {
	rate := &iotapi.ExponentialRolloutRate{}
	seen := map[string]bool{}
	for part := range strings.SplitSeq(arg, ",") {
		key, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		if seen[key] {
			return nil, flagExponentialRate.invalid(arg, "%s is given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "base":
			rate.BaseRatePerMinute, err = strconv.ParseInt(value, 10, 64)
		case "factor":
			rate.IncrementFactor, err = strconv.ParseFloat(value, 64)
		case "notified", "succeeded":
			var n int64
			n, err = strconv.ParseInt(value, 10, 64)
			if key == "notified" {
				rate.RateIncreaseCriteria.NumberOfNotifiedThings = &n
			} else {
				rate.RateIncreaseCriteria.NumberOfSucceededThings = &n
			}
		default:
			return nil, flagExponentialRate.invalid(arg, "%q is not one of base=N, factor=F, notified=M and succeeded=M", part)
		}
		if err != nil {
			return nil, flagExponentialRate.invalid(arg, "%s=%q is not a number", key, value)
		}
	}
	for _, key := range []string{"base", "factor"} {
		if !seen[key] {
			return nil, flagExponentialRate.invalid(arg, "%s= is missing", key)
		}
	}
	return rate, nil
}

// parseAbort reads TYPE:PERCENT:MIN; the action is always CANCEL, the only
// one AWS has.
func parseAbort(arg string) (iotapi.AbortCriteria, error) {
	parts := strings.Split(arg, ":")
	if len(parts) != 3 {
		return iotapi.AbortCriteria{}, flagAbort.invalid(arg, "want TYPE:PERCENT:MIN")
	}
	percent, err := strconv.ParseFloat(strings.TrimSuffix(parts[1], "%"), 64)
	if err != nil {
		return iotapi.AbortCriteria{}, flagAbort.invalid(arg, "PERCENT %q is not a number", parts[1])
	}
	minExecuted, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return iotapi.AbortCriteria{}, flagAbort.invalid(arg, "MIN %q is not a whole number", parts[2])
	}
	return iotapi.AbortCriteria{FailureType: strings.ToUpper(parts[0]), Action: iotapi.AbortCancel,
		ThresholdPercentage: percent, MinNumberOfExecutedThings: minExecuted}, nil
}

// parseRetry reads TYPE:N.
func parseRetry(arg string) (iotapi.RetryCriteria, error) {
	failureType, n, ok := strings.Cut(arg, ":")
	if !ok {
		return iotapi.RetryCriteria{}, flagRetry.invalid(arg, "want TYPE:N")
	}
	retries, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return iotapi.RetryCriteria{}, flagRetry.invalid(arg, "N %q is not a whole number", n)
	}
	return iotapi.RetryCriteria{FailureType: strings.ToUpper(failureType), NumberOfRetries: retries}, nil
}
