package emulatorcmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

type cancelExecutionOptions struct {
	ctl controlOptions

	JobID           string
	Thing           string
	Force           bool
	ExpectedVersion int64
	StatusDetails   []string

	expectedVersion *int64
	statusDetails   map[string]string
}

func newCancelExecutionCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &cancelExecutionOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "cancel-execution <job-id> --thing NAME [--force]",
		Short: "Cancel the execution of a job on one thing",
		Long: `Cancel one job execution of a running emulator (CancelJobExecution,
PUT /things/NAME/jobs/JOB-ID/cancel).

A QUEUED execution becomes CANCELED; an IN_PROGRESS one only with --force.
The thing is told on notify and notify-next. --expected-version makes the
cancel conditional on the execution's versionNumber (VersionConflictException
otherwise), and --status-detail replaces its statusDetails.
CancelJobExecution has no output: nothing is printed on stdout.`,
		Example: `  $ iotjobs emulator cancel-execution job-42 --thing my-thing
  $ iotjobs emulator cancel-execution job-42 -t my-thing --force --status-detail reason=operator
  $ iotjobs emulator cancel-execution job-42 -t my-thing && iotjobs emulator describe-execution job-42 -t my-thing | jq -r .execution.status`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: opts.ctl.completeJobIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.complete(cmd, args); err != nil {
				return err
			}
			return runCancelExecution(cmd.Context(), opts)
		},
	}
	opts.ctl.addThingFlag(cmd, &opts.Thing, "the execution runs on (required)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "cancel an IN_PROGRESS execution too")
	cmd.Flags().Int64Var(&opts.ExpectedVersion, "expected-version", 0, "cancel only if the execution's versionNumber is `N`")
	cmdutil.AddStatusDetailFlag(cmd, &opts.StatusDetails)
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func (o *cancelExecutionOptions) complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.JobID, err = cmdutil.JobIDArg(args[0], ""); err != nil {
		return err
	}
	if err := o.ctl.checkThingFlag(cmd, &o.Thing); err != nil {
		return err
	}
	if cmd.Flags().Changed("expected-version") {
		o.expectedVersion = &o.ExpectedVersion
	}
	if o.statusDetails, err = cmdutil.ParseStatusDetails(o.StatusDetails); err != nil {
		return err
	}
	return o.ctl.complete(cmd)
}

func runCancelExecution(ctx context.Context, opts *cancelExecutionOptions) error {
	err := opts.ctl.client.cancelJobExecution(ctx, iotapi.CancelJobExecutionInput{
		JobID: opts.JobID, ThingName: opts.Thing, Force: opts.Force,
		ExpectedVersion: opts.expectedVersion, StatusDetails: opts.statusDetails,
	})
	return opts.ctl.done(err, "canceled the execution of "+opts.JobID+" on "+opts.Thing)
}
