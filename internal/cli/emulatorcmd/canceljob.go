package emulatorcmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

type cancelJobOptions struct {
	ctl controlOptions

	JobID      string
	Force      bool
	Comment    string
	ReasonCode string
}

func newCancelJobCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &cancelJobOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "cancel-job <job-id>",
		Short: "Cancel a job: its queued executions, and with --force its running ones",
		Long: `Cancel a job of a running emulator (CancelJob, PUT /jobs/JOB-ID/cancel).

Its QUEUED executions become CANCELED, and with --force its IN_PROGRESS ones
too; the things are told on notify and notify-next. A canceled job can be
canceled again only to force it. Prints the CancelJob output:
{"jobArn":...,"jobId":...,"description":...}.`,
		Example: `  $ iotjobs emulator cancel-job job-42
  $ iotjobs emulator cancel-job job-42 --force --comment "bad firmware" --reason-code BAD_BUILD
  $ iotjobs emulator cancel-job job-42 | jq -r .jobArn`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: opts.ctl.completeJobIDs,
		RunE:              jobVerb(&opts.JobID, &opts.ctl, nil, func(ctx context.Context) error { return runCancelJob(ctx, opts) }),
	}
	f := cmd.Flags()
	f.BoolVar(&opts.Force, "force", false, "cancel IN_PROGRESS executions too")
	f.StringVar(&opts.Comment, "comment", "", "`TEXT` saying why the job was canceled")
	f.StringVar(&opts.ReasonCode, "reason-code", "", "`CODE` saying why, e.g. BAD_BUILD (upper-case letters, digits, '_')")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runCancelJob(ctx context.Context, opts *cancelJobOptions) error {
	a, err := opts.ctl.client.cancelJob(ctx, iotapi.CancelJobInput{JobID: opts.JobID, Force: opts.Force, Comment: opts.Comment, ReasonCode: opts.ReasonCode})
	return show(&opts.ctl, a, err, showJobRef)
}
