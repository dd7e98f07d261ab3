package emulatorcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/iostreams"
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
		Args: cobra.ExactArgs(1),
		RunE: jobVerb(&opts.JobID, &opts.ctl, nil, func(ctx context.Context) error { return runDescribeJob(ctx, opts) }),
	}
	cmd.Flags().BoolVar(&opts.Document, "document", false, "print the job document (GetJobDocument) instead")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runDescribeJob(ctx context.Context, opts *describeJobOptions) error {
	if opts.Document {
		req := controlRequest{method: http.MethodGet, path: []string{"jobs", opts.JobID, "job-document"}}
		return opts.ctl.run(ctx, req, showJobDocument, "")
	}
	req := controlRequest{method: http.MethodGet, path: []string{"jobs", opts.JobID}}
	return opts.ctl.run(ctx, req, showJob, "")
}

// showJobDocument prints the document itself: the person asked for it.
func showJobDocument(w io.Writer, body []byte) error {
	var out struct {
		Document string `json:"document"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, out.Document)
	return err
}

func showJob(w io.Writer, body []byte) error {
	var out struct {
		Job struct {
			JobArn        string       `json:"jobArn"`
			JobID         string       `json:"jobId"`
			Status        string       `json:"status"`
			ForceCanceled bool         `json:"forceCanceled"`
			Comment       string       `json:"comment"`
			ReasonCode    string       `json:"reasonCode"`
			Description   string       `json:"description"`
			Targets       []string     `json:"targets"`
			CreatedAt     epochSeconds `json:"createdAt"`
			LastUpdatedAt epochSeconds `json:"lastUpdatedAt"`
			CompletedAt   epochSeconds `json:"completedAt"`
			TimeoutConfig struct {
				InProgressTimeoutInMinutes int64 `json:"inProgressTimeoutInMinutes"`
			} `json:"timeoutConfig"`
			JobProcessDetails map[string]int `json:"jobProcessDetails"`
		} `json:"job"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return err
	}
	j := out.Job
	status := j.Status
	if j.ForceCanceled {
		status += " (forced)"
	}
	things := make([]string, len(j.Targets))
	for i, t := range j.Targets {
		things[i] = thingOfARN(t)
	}
	var timeout string
	if t := j.TimeoutConfig.InProgressTimeoutInMinutes; t != 0 {
		timeout = fmt.Sprintf("%d min", t)
	}
	fields(w,
		[2]string{"JOB ID", j.JobID}, [2]string{"ARN", j.JobArn}, [2]string{"STATUS", status},
		[2]string{"DESCRIPTION", j.Description}, [2]string{"TARGETS", strings.Join(things, ", ")},
		[2]string{"EXECUTIONS", executionCounts(j.JobProcessDetails)}, [2]string{"IN-PROGRESS TIMEOUT", timeout},
		[2]string{"CREATED", j.CreatedAt.String()}, [2]string{"UPDATED", j.LastUpdatedAt.String()},
		[2]string{"COMPLETED", j.CompletedAt.String()},
		[2]string{"COMMENT", j.Comment}, [2]string{"REASON CODE", j.ReasonCode},
	)
	return nil
}

// executionCounts says "1 queued, 2 succeeded" from jobProcessDetails, in
// the order of an execution's life.
func executionCounts(details map[string]int) string {
	var parts []string
	for _, c := range []struct{ key, label string }{
		{"numberOfQueuedThings", "queued"}, {"numberOfInProgressThings", "in progress"},
		{"numberOfSucceededThings", "succeeded"}, {"numberOfFailedThings", "failed"},
		{"numberOfRejectedThings", "rejected"}, {"numberOfTimedOutThings", "timed out"},
		{"numberOfCanceledThings", "canceled"}, {"numberOfRemovedThings", "removed"},
	} {
		if n := details[c.key]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c.label))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
