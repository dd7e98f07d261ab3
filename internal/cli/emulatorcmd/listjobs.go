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
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// jobStatuses are the values of list-jobs --status.
func jobStatuses() []string { return jobs.Names(iotapi.JobStatuses) }

type listJobsOptions struct {
	ctl  controlOptions
	page pageFlags
	// TargetSelection filters by SNAPSHOT or CONTINUOUS; "" for all.
	TargetSelection string
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
  $ iotjobs emulator list-jobs --target-selection continuous
  $ iotjobs emulator list-jobs | jq -r '.jobs[].jobId'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.page.check(cmd, jobStatuses()); err != nil {
				return err
			}
			switch sel := strings.ToUpper(opts.TargetSelection); sel {
			case "", iotapi.TargetSelectionSnapshot, iotapi.TargetSelectionContinuous:
				opts.TargetSelection = sel
			default:
				return cmdutil.Usagef("invalid --target-selection %q: want SNAPSHOT or CONTINUOUS; e.g. --target-selection continuous", opts.TargetSelection)
			}
			if err := opts.ctl.complete(cmd); err != nil {
				return err
			}
			return runListJobs(cmd.Context(), opts)
		},
	}
	opts.page.add(cmd, jobStatuses())
	cmd.Flags().StringVar(&opts.TargetSelection, "target-selection", "", "list only the `SELECTION` jobs: SNAPSHOT or CONTINUOUS")
	_ = cmd.RegisterFlagCompletionFunc("target-selection", cobra.FixedCompletions([]string{iotapi.TargetSelectionSnapshot, iotapi.TargetSelectionContinuous}, cobra.ShellCompDirectiveNoFileComp))
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runListJobs(ctx context.Context, opts *listJobsOptions) error {
	p := opts.page
	a, err := opts.ctl.client.listJobs(ctx, iotapi.ListJobsInput{Status: iotapi.JobStatus(p.Status), TargetSelection: opts.TargetSelection, MaxResults: p.MaxResults, NextToken: p.NextToken})
	return show(&opts.ctl, a, err, func(w io.Writer, out iotapi.ListJobsOutput) {
		if len(out.Jobs) == 0 {
			fmt.Fprintln(w, "no jobs")
			opts.ctl.moreHint(out.NextToken)
			return
		}
		fmt.Fprintln(w, "JOB ID\tSTATUS\tSELECTION\tCREATED\tUPDATED\tCOMPLETED")
		for _, j := range out.Jobs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", j.JobID, j.Status, j.TargetSelection, cmdutil.Cell(j.CreatedAt.String()), cmdutil.Cell(j.LastUpdatedAt.String()), cmdutil.Cell(j.CompletedAt.String()))
		}
		opts.ctl.moreHint(out.NextToken)
	})
}
