package emulatorcmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

type deleteExecutionOptions struct {
	ctl controlOptions

	JobID           string
	Thing           string
	ExecutionNumber int64
	Force           bool
}

func newDeleteExecutionCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &deleteExecutionOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "delete-execution <job-id> --thing NAME --execution-number N [--force]",
		Short: "Delete one execution of a job on a thing",
		Long: `Delete one job execution of a running emulator (DeleteJobExecution,
DELETE /things/NAME/jobs/JOB-ID/executionNumber/N).

Without --force the execution must be in a terminal state; with it a QUEUED
or IN_PROGRESS execution is deleted too, and the thing is told on notify and
notify-next. A device asking about it afterwards gets ResourceNotFound.
DeleteJobExecution has no output: nothing is printed on stdout.`,
		Example: `  $ iotjobs emulator delete-execution job-42 --thing my-thing --execution-number 1
  $ iotjobs emulator delete-execution job-42 -t my-thing --execution-number 1 --force
  $ iotjobs emulator delete-execution job-42 -t my-thing --execution-number 1 && iotjobs emulator list-executions --job job-42 | jq '.executionSummaries | length'`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: opts.ctl.completeJobIDs,
		RunE: jobVerb(&opts.JobID, &opts.ctl, func(cmd *cobra.Command) error {
			if err := opts.ctl.checkThingFlag(cmd, &opts.Thing); err != nil {
				return err
			}
			if !cmd.Flags().Changed("execution-number") {
				return cmdutil.Usagef("delete-execution needs --execution-number N (see describe-execution)")
			}
			_, err := cmdutil.ExecutionNumber(cmd, opts.ExecutionNumber)
			return err
		}, func(ctx context.Context) error { return runDeleteExecution(ctx, opts) }),
	}
	opts.ctl.addThingFlag(cmd, &opts.Thing, "the execution ran on (required)")
	cmd.Flags().Int64Var(&opts.ExecutionNumber, "execution-number", 0, "execution `N` of the job on the thing (required)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete a QUEUED or IN_PROGRESS execution too")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runDeleteExecution(ctx context.Context, opts *deleteExecutionOptions) error {
	err := opts.ctl.client.deleteJobExecution(ctx, iotapi.DeleteJobExecutionInput{
		JobID: opts.JobID, ThingName: opts.Thing, ExecutionNumber: opts.ExecutionNumber, Force: opts.Force,
	})
	return opts.ctl.done(err, fmt.Sprintf("deleted execution %d of %s on %s", opts.ExecutionNumber, opts.JobID, opts.Thing))
}
