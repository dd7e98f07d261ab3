package emulatorcmd

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

type describeJobOptions struct {
	ctl controlOptions

	JobID    string
	Document bool
}

func newDescribeJobCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &describeJobOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "describe-job <job-id>",
		Short: "Describe a job: status, targets, timestamps and execution counts",
		Long: `Describe a job of a running emulator (DescribeJob, GET /jobs/JOB-ID).

Prints {"job":{...}} as AWS IoT's DescribeJob does: status, targets as thing
ARNs, timestamps in epoch seconds and jobProcessDetails with the number of
executions in each status. With --document it prints the job document
instead (GetJobDocument): {"document":"..."}, the document as a string.`,
		Example: `  $ iotjobs emulator describe-job job-42
  $ iotjobs emulator describe-job job-42 | jq .job.jobProcessDetails
  $ iotjobs emulator describe-job job-42 --document | jq -r .document | jq .`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: opts.ctl.completeJobIDs,
		RunE:              jobVerb(&opts.JobID, &opts.ctl, nil, func(ctx context.Context) error { return runDescribeJob(ctx, opts) }),
	}
	cmd.Flags().BoolVar(&opts.Document, "document", false, "print the job document (GetJobDocument) instead")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runDescribeJob(ctx context.Context, opts *describeJobOptions) error {
	if opts.Document {
		a, err := opts.ctl.client.getJobDocument(ctx, opts.JobID)
		return show(&opts.ctl, a, err, showJobDocument)
	}
	a, err := opts.ctl.client.describeJob(ctx, opts.JobID)
	return show(&opts.ctl, a, err, showJob)
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
		things[i] = iotapi.ThingOfARN(t)
	}
	var timeout string
	if tc := j.TimeoutConfig; tc != nil && tc.InProgressTimeoutInMinutes != nil {
		timeout = fmt.Sprintf("%d min", *tc.InProgressTimeoutInMinutes)
	}
	fields(w,
		[2]string{"JOB ID", j.JobID}, [2]string{"ARN", j.JobArn}, [2]string{"STATUS", status},
		[2]string{"DESCRIPTION", j.Description}, [2]string{"TARGETS", strings.Join(things, ", ")},
		[2]string{"EXECUTIONS", executionCounts(j.JobProcessDetails)}, [2]string{"IN-PROGRESS TIMEOUT", timeout},
		[2]string{"CREATED", j.CreatedAt.String()}, [2]string{"UPDATED", j.LastUpdatedAt.String()},
		[2]string{"COMPLETED", j.CompletedAt.String()},
		[2]string{"COMMENT", j.Comment}, [2]string{"REASON CODE", j.ReasonCode},
	)
}

// executionCounts says "1 queued, 2 succeeded", in the order of an
// execution's life.
func executionCounts(d iotapi.JobProcessDetails) string {
	var parts []string
	for _, c := range []struct {
		n     int
		label string
	}{
		{d.NumberOfQueuedThings, "queued"}, {d.NumberOfInProgressThings, "in progress"},
		{d.NumberOfSucceededThings, "succeeded"}, {d.NumberOfFailedThings, "failed"},
		{d.NumberOfRejectedThings, "rejected"}, {d.NumberOfTimedOutThings, "timed out"},
		{d.NumberOfCanceledThings, "canceled"}, {d.NumberOfRemovedThings, "removed"},
	} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.label))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
