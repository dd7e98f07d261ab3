package emulatorcmd

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

type createJobOptions struct {
	ctl controlOptions

	JobID             string
	Targets           []string
	Document          string
	Description       string
	InProgressTimeout int64

	document          string // the document text, read and checked
	inProgressTimeout *int64 // nil when not given
}

func newCreateJobCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &createJobOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "create-job <job-id> --target THING... --document FILE|-|JSON",
		Short: "Create a job for one or more things",
		Long: `Create a job on a running emulator (CreateJob, PUT /jobs/JOB-ID).

One execution per target is queued, and each thing is told on its notify and
notify-next topics as AWS IoT would. A target is a thing name or a thing ARN;
--target may be repeated or given a comma-separated list. The document must
be a JSON object: inline JSON (starting with '{'), a file, or - for stdin.

Prints the CreateJob output: {"jobArn":...,"jobId":...,"description":...}.`,
		Example: `  $ iotjobs emulator create-job job-42 --target my-thing --document '{"operation":"reboot"}'
  $ iotjobs emulator create-job fw-1-2-3 --target dev-1,dev-2 --document firmware.json --in-progress-timeout 30
  $ jq -n '{operation:"install",version:"1.2.3"}' | iotjobs emulator create-job fw-1-2-3 -t dev-1 --document -
  $ iotjobs emulator create-job job-43 -t my-thing --document job.json | jq -r .jobArn`,
		Args:              cmdutil.OneArg("<job-id>"),
		ValidArgsFunction: cobra.NoFileCompletions, // a new id
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.complete(cmd, args); err != nil {
				return err
			}
			return runCreateJob(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&opts.Targets, "target", "t", nil, "`THING` name or thing ARN to run the job on (repeatable, or comma-separated; required)")
	f.StringVar(&opts.Document, "document", "", "the job document: a JSON object inline, a `FILE`, or - for stdin (required)")
	f.StringVar(&opts.Description, "description", "", "`TEXT` describing the job")
	f.Int64Var(&opts.InProgressTimeout, "in-progress-timeout", 0, "time an execution out `MINUTES` after it starts, 1..10080")
	opts.ctl.addControlFlags(cmd)
	_ = cmd.MarkFlagFilename("document", "json")
	_ = cmd.RegisterFlagCompletionFunc("target", cmdutil.CompleteProfileThings)
	return cmd
}

func (o *createJobOptions) complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.JobID, err = cmdutil.JobIDArg(args[0], ""); err != nil {
		return err
	}
	if len(o.Targets) == 0 {
		return cmdutil.Usagef("create-job needs at least one --target THING")
	}
	for _, target := range o.Targets {
		if _, err := iotapi.ParseTarget(target); err != nil {
			return cmdutil.Usagef("invalid --target: %s", serviceMessage(err))
		}
	}
	if o.document, err = readDocument(o.ctl.IO.In, o.Document); err != nil {
		return err
	}
	if cmd.Flags().Changed("in-progress-timeout") {
		if err := iotapi.CheckInProgressTimeout(o.InProgressTimeout); err != nil {
			return cmdutil.Usagef("invalid --in-progress-timeout %d: must be between 1 and %d minutes", o.InProgressTimeout, jobs.MaxInProgressTimeout)
		}
		o.inProgressTimeout = &o.InProgressTimeout
	}
	return o.ctl.complete(cmd)
}

func runCreateJob(ctx context.Context, opts *createJobOptions) error {
	in := iotapi.CreateJobInput{JobID: opts.JobID, Targets: opts.Targets, Document: opts.document, Description: opts.Description}
	if opts.inProgressTimeout != nil {
		in.TimeoutConfig = &iotapi.TimeoutConfig{InProgressTimeoutInMinutes: opts.inProgressTimeout}
	}
	a, err := opts.ctl.client.createJob(ctx, in)
	return show(&opts.ctl, a, err, showJobRef)
}

// showJobRef shows the output of CreateJob and CancelJob.
func showJobRef(w io.Writer, ref iotapi.JobRef) {
	fields(w, [2]string{"JOB ID", ref.JobID}, [2]string{"ARN", ref.JobArn}, [2]string{"DESCRIPTION", ref.Description})
}
