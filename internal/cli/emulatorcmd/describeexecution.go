package emulatorcmd

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

type describeExecutionOptions struct {
	ctl controlOptions

	JobID           string
	Thing           string
	ExecutionNumber int64

	executionNumber *int64
}

func newDescribeExecutionCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &describeExecutionOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "describe-execution <job-id> --thing NAME [--execution-number N]",
		Short: "Describe the execution of a job on a thing, as the control plane sees it",
		Long: `Describe one job execution of a running emulator (DescribeJobExecution,
GET /things/NAME/jobs/JOB-ID), terminal or not.

Prints {"execution":{...}} as AWS IoT's control plane does: status,
statusDetails.detailsMap, thingArn, executionNumber, versionNumber,
timestamps in epoch seconds, and approximateSecondsBeforeTimedOut while a
timer runs. Unlike the device's describe, it needs no MQTT connection and
never returns the job document.`,
		Example: `  $ iotjobs emulator describe-execution job-42 --thing my-thing
  $ iotjobs emulator describe-execution job-42 -t my-thing --execution-number 1
  $ iotjobs emulator describe-execution job-42 -t my-thing | jq -r .execution.status`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: opts.ctl.completeJobIDs,
		RunE: jobVerb(&opts.JobID, &opts.ctl, func(cmd *cobra.Command) error {
			if err := opts.ctl.checkThingFlag(cmd, &opts.Thing); err != nil {
				return err
			}
			var err error
			opts.executionNumber, err = cmdutil.ExecutionNumber(cmd, opts.ExecutionNumber)
			return err
		}, func(ctx context.Context) error { return runDescribeExecution(ctx, opts) }),
	}
	opts.ctl.addThingFlag(cmd, &opts.Thing, "the execution runs on (required)")
	cmd.Flags().Int64Var(&opts.ExecutionNumber, "execution-number", 0, "execution `N` of the job on the thing (default: the latest)")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runDescribeExecution(ctx context.Context, opts *describeExecutionOptions) error {
	a, err := opts.ctl.client.describeJobExecution(ctx, iotapi.DescribeJobExecutionInput{
		JobID: opts.JobID, ThingName: opts.Thing, ExecutionNumber: opts.executionNumber,
	})
	return show(&opts.ctl, a, err, showExecution)
}

func showExecution(w io.Writer, out iotapi.DescribeJobExecutionOutput) {
	x := out.Execution
	status := string(x.Status)
	if x.ForceCanceled != nil && *x.ForceCanceled {
		status += " (forced)"
	}
	var details []string
	if x.StatusDetails != nil {
		for _, k := range slices.Sorted(maps.Keys(x.StatusDetails.DetailsMap)) {
			details = append(details, k+"="+x.StatusDetails.DetailsMap[k])
		}
	}
	var timesOut string
	if s := x.ApproximateSecondsBeforeTimedOut; s > 0 {
		timesOut = "in about " + (time.Duration(s) * time.Second).String()
	}
	fields(w,
		[2]string{"JOB ID", x.JobID}, [2]string{"THING", iotapi.ThingOfARN(x.ThingArn)}, [2]string{"STATUS", status},
		[2]string{"STATUS DETAILS", strings.Join(details, ", ")},
		[2]string{"EXECUTION", fmt.Sprint(x.ExecutionNumber)}, [2]string{"VERSION", fmt.Sprint(x.VersionNumber)},
		[2]string{"QUEUED", x.QueuedAt.String()}, [2]string{"STARTED", x.StartedAt.String()},
		[2]string{"UPDATED", x.LastUpdatedAt.String()}, [2]string{"TIMES OUT", timesOut},
	)
}
