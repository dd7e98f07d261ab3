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
	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/iostreams"
)

// jobStatuses are the values of list-jobs --status.
func jobStatuses() []string {
	return []string{
		string(emulator.JobInProgress), string(emulator.JobCanceled), string(emulator.JobCompleted), string(emulator.JobDeletionInProgress),
	}
}

type listJobsOptions struct {
	ctl  controlOptions
	page pageFlags
}

func newListJobsCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &listJobsOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "list-jobs",
		Short: "List the jobs, oldest first",
		Long: `List the jobs of a running emulator (ListJobs, GET /jobs), in creation order.

Prints {"jobs":[...],"nextToken":"..."}: one page of job summaries (job id,
ARN, status, timestamps), and nextToken when there are more; pass it to
--next-token for the next page. On a terminal the page is a table and the
next token is shown on stderr.`,
		Example: `  $ iotjobs emulator list-jobs
  $ iotjobs emulator list-jobs --status IN_PROGRESS --max-results 10
  $ iotjobs emulator list-jobs | jq -r '.jobs[].jobId'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			query, err := opts.page.query(cmd, jobStatuses())
			if err != nil {
				return err
			}
			if err := opts.ctl.complete(cmd); err != nil {
				return err
			}
			return runListJobs(cmd.Context(), opts, query)
		},
	}
	opts.page.add(cmd, jobStatuses())
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runListJobs(ctx context.Context, opts *listJobsOptions, query url.Values) error {
	req := controlRequest{method: http.MethodGet, path: []string{"jobs"}, query: query}
	return opts.ctl.run(ctx, req, func(w io.Writer, body []byte) error {
		var out struct {
			Jobs []struct {
				JobID         string       `json:"jobId"`
				Status        string       `json:"status"`
				CreatedAt     epochSeconds `json:"createdAt"`
				LastUpdatedAt epochSeconds `json:"lastUpdatedAt"`
				CompletedAt   epochSeconds `json:"completedAt"`
			} `json:"jobs"`
			NextToken string `json:"nextToken"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return err
		}
		fmt.Fprintln(w, "JOB ID\tSTATUS\tCREATED\tUPDATED\tCOMPLETED")
		for _, j := range out.Jobs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", j.JobID, j.Status, cmdutil.Cell(j.CreatedAt.String()), cmdutil.Cell(j.LastUpdatedAt.String()), cmdutil.Cell(j.CompletedAt.String()))
		}
		opts.ctl.moreHint(out.NextToken)
		return nil
	}, "")
}
