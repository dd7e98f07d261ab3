package devicecmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

type describeOptions struct {
	conn cmdutil.ConnOptions
	fan  fanOut
	many bool

	JobID              string
	Next               bool
	ExecutionNumber    int64
	IncludeJobDocument bool

	executionNumber    *int64
	includeJobDocument *bool
}

// NewDescribeCmd is `iotjobs describe`.
func NewDescribeCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &describeOptions{conn: cmdutil.ConnOptions{IO: ios, FanOut: true}}
	cmd := &cobra.Command{
		Use:   "describe <job-id>",
		Short: "Describe one job execution of the thing",
		Long: `Describe one job execution (DescribeJobExecution).

Publishes on $aws/things/THING/jobs/JOB-ID/get. JOB-ID may be $next (or use
--next) for the next pending execution, which is not changed. The reply from
.../get/accepted is {"execution":{...},"timestamp":N,"clientToken":"..."};
for $next with nothing pending it has no "execution". The job document is
included unless --include-job-document=false; the field is sent only when the
flag is given. Quote $next in the shell: '$next'.
` + fanOutHelp,
		Example: `  $ iotjobs describe job-42 -t my-thing
  $ iotjobs describe '$next' -t my-thing --include-job-document=false
  $ iotjobs describe job-42 -t my-thing --execution-number 2
  $ iotjobs describe --next -t my-thing | jq .execution.jobDocument
  $ iotjobs describe fw-1-2-3 --things fleet.txt --include-job-document=false | jq -r 'select(.exitCode==14).thing'`,
		Args:              cmdutil.MaxOneArg("<job-id>"),
		ValidArgsFunction: cmdutil.JobIDCompletion(&opts.conn, true),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.complete(cmd, args); err != nil {
				return err
			}
			return runDescribe(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Next, "next", false, "describe the next pending execution (the job id $next)")
	cmd.Flags().Int64Var(&opts.ExecutionNumber, "execution-number", 0, "execution `N` of the job (default: the latest)")
	cmd.Flags().BoolVar(&opts.IncludeJobDocument, "include-job-document", true, "include the job document; sent only when given")
	opts.conn.AddConnFlags(cmd)
	opts.conn.AddRetriesFlag(cmd, "")
	opts.fan.addFlags(cmd)
	return cmd
}

func (o *describeOptions) complete(cmd *cobra.Command, args []string) (err error) {
	switch {
	case len(args) == 1 && o.Next:
		return cmdutil.Usagef("give either a job id or --next, not both")
	case len(args) == 1:
		o.JobID = args[0]
	case o.Next:
		o.JobID = jobs.NextJobID
	default:
		return cmdutil.Usagef("describe needs a job id, or --next ('$next') for the next pending execution")
	}
	if err := jobs.ValidateJobIDOrNext(o.JobID); err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if o.executionNumber, err = cmdutil.ExecutionNumber(cmd, o.ExecutionNumber); err != nil {
		return err
	}
	if cmd.Flags().Changed("include-job-document") {
		o.includeJobDocument = &o.IncludeJobDocument
	}
	if err := o.conn.Complete(cmd); err != nil {
		return err
	}
	o.many, err = o.fan.complete(cmd, &o.conn, o.conn.IO.In)
	return err
}

func runDescribe(ctx context.Context, opts *describeOptions) error {
	req := jobs.DescribeRequest{
		ExecutionNumber:    opts.executionNumber,
		IncludeJobDocument: opts.includeJobDocument,
		ClientToken:        opts.conn.ClientToken,
	}
	if opts.many {
		filters := []string{"$aws/things/+/jobs/+/get/accepted", "$aws/things/+/jobs/+/get/rejected"}
		return runFanOut(ctx, &opts.conn, &opts.fan, filters, func(thing, token string) (jobs.Topic, any) {
			r := req
			r.ClientToken = token
			return jobs.DescribeTopic(thing, opts.JobID), r
		})
	}
	_, err := cmdutil.Exchange(ctx, &opts.conn, jobs.DescribeTopic(opts.conn.Thing, opts.JobID), req, nil, true)
	return err
}
