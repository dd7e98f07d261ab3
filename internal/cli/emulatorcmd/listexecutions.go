package emulatorcmd

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

type listExecutionsOptions struct {
	ctl  controlOptions
	page pageFlags

	JobID string
	Thing string
}

func newListExecutionsCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &listExecutionsOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "list-executions (--job JOB-ID | --thing NAME)",
		Short: "List the executions of a job, or of a thing",
		Long: `List job executions of a running emulator: those of one job by thing name
(ListJobExecutionsForJob, GET /jobs/JOB-ID/things), or those of one thing in
job creation order (ListJobExecutionsForThing, GET /things/NAME/jobs).

Prints {"executionSummaries":[...],"nextToken":"..."} as AWS IoT does: for a
job each summary has thingArn, for a thing jobId, and both have
jobExecutionSummary (status, executionNumber, timestamps). A thing with no
executions has an empty list.`,
		Example: `  $ iotjobs emulator list-executions --job job-42
  $ iotjobs emulator list-executions --thing my-thing --status QUEUED
  $ iotjobs emulator list-executions --job job-42 | jq -r '.executionSummaries[] | [.thingArn, .jobExecutionSummary.status] | @tsv'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runListExecutions(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.JobID, "job", "", "list the executions of the job `JOB-ID`")
	_ = cmd.RegisterFlagCompletionFunc("job", opts.ctl.completeJobIDs)
	opts.ctl.addThingFlag(cmd, &opts.Thing, "whose executions to list")
	opts.page.add(cmd, jobs.Names(jobs.Statuses))
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func (o *listExecutionsOptions) complete(cmd *cobra.Command) error {
	switch {
	case o.JobID == "" && o.Thing == "":
		return cmdutil.Usagef("list-executions needs --job JOB-ID or --thing NAME")
	case o.JobID != "" && o.Thing != "":
		return cmdutil.Usagef("give either --job or --thing, not both")
	case o.JobID != "":
		if err := jobs.ValidateJobID(o.JobID); err != nil {
			return &cmdutil.UsageError{Err: err}
		}
	default:
		if err := o.ctl.checkThingFlag(cmd, &o.Thing); err != nil {
			return err
		}
	}
	if err := o.page.check(cmd, jobs.Names(jobs.Statuses)); err != nil {
		return err
	}
	return o.ctl.complete(cmd)
}

func runListExecutions(ctx context.Context, opts *listExecutionsOptions) error {
	p := opts.page
	in := iotapi.ListExecutionsInput{JobID: opts.JobID, ThingName: opts.Thing, Status: jobs.Status(p.Status), MaxResults: p.MaxResults, NextToken: p.NextToken}
	if opts.JobID != "" {
		a, err := opts.ctl.client.listJobExecutionsForJob(ctx, in)
		return show(&opts.ctl, a, err, func(w io.Writer, out iotapi.ListJobExecutionsForJobOutput) {
			rows := make([]executionRow, len(out.ExecutionSummaries))
			for i, x := range out.ExecutionSummaries {
				rows[i] = executionRow{iotapi.ThingOfARN(x.ThingArn), x.JobExecutionSummary}
			}
			opts.table(w, "THING", rows, out.NextToken)
		})
	}
	a, err := opts.ctl.client.listJobExecutionsForThing(ctx, in)
	return show(&opts.ctl, a, err, func(w io.Writer, out iotapi.ListJobExecutionsForThingOutput) {
		rows := make([]executionRow, len(out.ExecutionSummaries))
		for i, x := range out.ExecutionSummaries {
			rows[i] = executionRow{x.JobID, x.JobExecutionSummary}
		}
		opts.table(w, "JOB ID", rows, out.NextToken)
	})
}

// executionRow is a line of the table: the thing or the job, and the
// execution's summary.
type executionRow struct {
	name    string
	summary iotapi.JobExecutionSummary
}

func (o *listExecutionsOptions) table(w io.Writer, column string, rows []executionRow, nextToken string) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no executions")
		o.ctl.moreHint(nextToken)
		return
	}
	fmt.Fprintf(w, "%s\tSTATUS\tEXECUTION\tQUEUED\tSTARTED\tUPDATED\n", column)
	for _, r := range rows {
		s := r.summary
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", r.name, s.Status, s.ExecutionNumber, cmdutil.Cell(s.QueuedAt.String()), cmdutil.Cell(s.StartedAt.String()), cmdutil.Cell(s.LastUpdatedAt.String()))
	}
	o.ctl.moreHint(nextToken)
}
