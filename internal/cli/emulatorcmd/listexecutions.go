package emulatorcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
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
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			query, err := opts.complete(cmd)
			if err != nil {
				return err
			}
			return runListExecutions(cmd.Context(), opts, query)
		},
	}
	cmd.Flags().StringVar(&opts.JobID, "job", "", "list the executions of the job `JOB-ID`")
	addThingFlag(cmd, &opts.Thing, "whose executions to list")
	opts.page.add(cmd, jobs.Names(jobs.Statuses))
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func (o *listExecutionsOptions) complete(cmd *cobra.Command) (url.Values, error) {
	switch {
	case o.JobID == "" && o.Thing == "":
		return nil, cmdutil.Usagef("list-executions needs --job JOB-ID or --thing NAME")
	case o.JobID != "" && o.Thing != "":
		return nil, cmdutil.Usagef("give either --job or --thing, not both")
	case o.JobID != "":
		if err := jobs.ValidateJobID(o.JobID); err != nil {
			return nil, &cmdutil.UsageError{Err: err}
		}
	default:
		if err := checkThingFlag(o.Thing); err != nil {
			return nil, err
		}
	}
	query, err := o.page.query(cmd, jobs.Names(jobs.Statuses))
	if err != nil {
		return nil, err
	}
	return query, o.ctl.complete(cmd)
}

func runListExecutions(ctx context.Context, opts *listExecutionsOptions, query url.Values) error {
	req := controlRequest{method: http.MethodGet, path: []string{"things", opts.Thing, "jobs"}, query: query}
	column := "JOB ID"
	if opts.JobID != "" {
		req.path = []string{"jobs", opts.JobID, "things"}
		column = "THING"
	}
	return opts.ctl.run(ctx, req, func(w io.Writer, body []byte) error {
		var out struct {
			ExecutionSummaries []struct {
				ThingArn            string `json:"thingArn"`
				JobID               string `json:"jobId"`
				JobExecutionSummary struct {
					Status          string       `json:"status"`
					ExecutionNumber int64        `json:"executionNumber"`
					QueuedAt        epochSeconds `json:"queuedAt"`
					StartedAt       epochSeconds `json:"startedAt"`
					LastUpdatedAt   epochSeconds `json:"lastUpdatedAt"`
				} `json:"jobExecutionSummary"`
			} `json:"executionSummaries"`
			NextToken string `json:"nextToken"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\tSTATUS\tEXECUTION\tQUEUED\tSTARTED\tUPDATED\n", column)
		for _, x := range out.ExecutionSummaries {
			s := x.JobExecutionSummary
			// Exactly one of thingArn and jobId is set, by the operation.
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", thingOfARN(x.ThingArn)+x.JobID, s.Status, s.ExecutionNumber, cmdutil.Cell(s.QueuedAt.String()), cmdutil.Cell(s.StartedAt.String()), cmdutil.Cell(s.LastUpdatedAt.String()))
		}
		opts.ctl.moreHint(out.NextToken)
		return nil
	}, "")
}
