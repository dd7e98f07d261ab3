package devicecmd

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

type updateOptions struct {
	conn cmdutil.ConnOptions

	JobID                    string
	Status                   string
	StatusDetails            []string
	ExpectedVersion          int64
	ExecutionNumber          int64
	IncludeJobExecutionState bool
	IncludeJobDocument       bool
	StepTimeout              int64

	status          jobs.Status
	details         map[string]string
	expectedVersion *int64
	executionNumber *int64
	stepTimeout     *int64
}

func NewUpdateCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &updateOptions{conn: cmdutil.ConnOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "update <job-id> --status STATUS",
		Short: "Report the progress or the outcome of a job execution",
		Long: `Report progress or the outcome of a job execution (UpdateJobExecution).

Publishes {"status":"...",...} on $aws/things/THING/jobs/JOB-ID/update. STATUS
is IN_PROGRESS, SUCCEEDED, FAILED or REJECTED. The reply from
.../update/accepted is {"timestamp":N,"clientToken":"..."}, plus
"executionState" with --include-job-execution-state and "jobDocument" with
--include-job-document. With --expected-version the update is applied only if
the execution is at that version (else VersionMismatch, exit 15).
--step-timeout -1 cancels the step timer.`,
		Example: `  $ iotjobs update job-42 -t my-thing --status IN_PROGRESS --status-detail progress=50%
  $ iotjobs update job-42 -t my-thing --status SUCCEEDED --expected-version 2 --include-job-execution-state
  $ iotjobs update job-42 -t my-thing --status IN_PROGRESS --step-timeout -1
  $ iotjobs update job-42 -t my-thing --status FAILED --include-job-execution-state | jq -r .executionState.status`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: cmdutil.JobIDCompletion(&opts.conn, false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.complete(cmd, args); err != nil {
				return err
			}
			return runUpdate(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Status, "status", "", "`STATUS`: IN_PROGRESS, SUCCEEDED, FAILED or REJECTED (required)")
	cmdutil.AddStatusDetailFlag(cmd, &opts.StatusDetails)
	f.Int64Var(&opts.ExpectedVersion, "expected-version", 0, "apply the update only if the execution is at version `N`")
	f.Int64Var(&opts.ExecutionNumber, "execution-number", 0, "execution `N` of the job (default: the latest)")
	f.BoolVar(&opts.IncludeJobExecutionState, "include-job-execution-state", false, "return the execution state in the reply")
	f.BoolVar(&opts.IncludeJobDocument, "include-job-document", false, "return the job document in the reply")
	f.Int64Var(&opts.StepTimeout, "step-timeout", 0, "`MINUTES` (1-10080) for the next step; -1 cancels the step timer")
	_ = cmd.MarkFlagRequired("status")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(jobs.Names(jobs.DeviceStatuses), cobra.ShellCompDirectiveNoFileComp))
	opts.conn.AddConnFlags(cmd)
	opts.conn.AddRetriesFlag(cmd, "only with --expected-version, which keeps an update from being applied twice")
	return cmd
}

func (o *updateOptions) complete(cmd *cobra.Command, args []string) (err error) {
	// The connection settings first: the hint on $next carries them.
	if err := o.conn.Complete(cmd); err != nil {
		return err
	}
	if o.JobID, err = cmdutil.JobIDArg(args[0], "update needs the id of a job: $next names the next pending execution only for describe; find the id with: "+o.conn.Suggest("describe", jobs.NextJobID)); err != nil {
		return err
	}
	// The statuses are upper case on the wire; accept any case at the prompt.
	o.status = jobs.Status(strings.ToUpper(o.Status))
	if err := jobs.ValidateDeviceStatus(o.status); err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if o.details, err = cmdutil.ParseStatusDetails(o.StatusDetails); err != nil {
		return err
	}
	if cmd.Flags().Changed("expected-version") {
		if o.ExpectedVersion < 0 {
			return cmdutil.Usagef("invalid --expected-version %d: must be 0 or more", o.ExpectedVersion)
		}
		o.expectedVersion = &o.ExpectedVersion
	}
	if o.executionNumber, err = cmdutil.ExecutionNumber(cmd, o.ExecutionNumber); err != nil {
		return err
	}
	if o.stepTimeout, err = cmdutil.StepTimeout(cmd, o.StepTimeout, true); err != nil {
		return err
	}
	return nil
}

func runUpdate(ctx context.Context, opts *updateOptions) error {
	req := jobs.UpdateRequest{
		Status:                   opts.status,
		StatusDetails:            opts.details,
		ExecutionNumber:          opts.executionNumber,
		IncludeJobExecutionState: opts.IncludeJobExecutionState,
		IncludeJobDocument:       opts.IncludeJobDocument,
		StepTimeoutInMinutes:     opts.stepTimeout,
		ClientToken:              opts.conn.ClientToken,
	}
	if opts.expectedVersion != nil {
		v := jobs.Version(*opts.expectedVersion)
		req.ExpectedVersion = &v
	}
	_, err := cmdutil.Exchange(ctx, &opts.conn, jobs.UpdateTopic(opts.conn.Thing, opts.JobID), req, opts.expectedVersion, opts.expectedVersion != nil)
	return err
}
