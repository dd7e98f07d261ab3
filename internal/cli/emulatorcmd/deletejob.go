package emulatorcmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

type deleteJobOptions struct {
	ctl controlOptions

	JobID string
	Force bool
}

func newDeleteJobCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &deleteJobOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "delete-job <job-id>",
		Short: "Delete a job and all its executions",
		Long: `Delete a job of a running emulator and all its executions (DeleteJob,
DELETE /jobs/JOB-ID).

Without --force the job must be COMPLETED or CANCELED; with it, pending
executions are deleted too, and their things are told on notify and
notify-next. DeleteJob has no output: nothing is printed on stdout.`,
		Example: `  $ iotjobs emulator delete-job job-42
  $ iotjobs emulator delete-job job-42 --force
  $ iotjobs emulator list-jobs --status CANCELED | jq -r '.jobs[].jobId' | xargs -n1 iotjobs emulator delete-job`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: opts.ctl.completeJobIDs,
		RunE:              jobVerb(&opts.JobID, &opts.ctl, nil, func(ctx context.Context) error { return runDeleteJob(ctx, opts) }),
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete a job that is still IN_PROGRESS")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runDeleteJob(ctx context.Context, opts *deleteJobOptions) error {
	err := opts.ctl.client.deleteJob(ctx, iotapi.DeleteJobInput{JobID: opts.JobID, Force: opts.Force})
	return opts.ctl.done(err, "deleted job "+opts.JobID)
}
