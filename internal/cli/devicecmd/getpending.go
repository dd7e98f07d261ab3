package devicecmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

type getPendingOptions struct {
	conn cmdutil.ConnOptions
	fan  fanOut
	many bool
}

// NewGetPendingCmd is `iotjobs get-pending`.
func NewGetPendingCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &getPendingOptions{conn: cmdutil.ConnOptions{IO: ios, FanOut: true}}
	cmd := &cobra.Command{
		Use:   "get-pending",
		Short: "List the thing's in-progress and queued job executions",
		Long: `List the thing's pending job executions (GetPendingJobExecutions).

Publishes {"clientToken":"..."} on $aws/things/THING/jobs/get and prints the
reply from .../get/accepted: {"inProgressJobs":[...],"queuedJobs":[...],
"timestamp":N,"clientToken":"..."}, at most 10 entries; both lists are present
and empty when nothing is pending. A reply on .../get/rejected is printed too
and sets the exit code (see iotjobs --help).
` + fanOutHelp,
		Example: `  $ iotjobs get-pending -t my-thing
  $ iotjobs get-pending -t my-thing | jq -r '.queuedJobs[].jobId'
  $ iotjobs get-pending -t my-thing -e a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com \
      --cert my-thing.cert.pem --key my-thing.private.key --client-id my-thing-operator
  $ iotjobs get-pending --things fleet.txt | jq -r 'select(.reply.inProgressJobs|length>0).thing'
  $ iotjobs get-pending -t dev-1,dev-2,dev-3 --summary`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.conn.Complete(cmd); err != nil {
				return err
			}
			var err error
			if opts.many, err = opts.fan.complete(cmd, &opts.conn, ios.In); err != nil {
				return err
			}
			return runGetPending(cmd.Context(), opts)
		},
	}
	opts.conn.AddConnFlags(cmd)
	opts.conn.AddRetriesFlag(cmd, "")
	opts.fan.addFlags(cmd)
	return cmd
}

func runGetPending(ctx context.Context, opts *getPendingOptions) error {
	if opts.many {
		filters := []string{"$aws/things/+/jobs/get/accepted", "$aws/things/+/jobs/get/rejected"}
		return runFanOut(ctx, &opts.conn, &opts.fan, filters, func(thing, token string) (jobs.Topic, any) {
			return jobs.GetPendingTopic(thing), jobs.GetPendingRequest{ClientToken: token}
		})
	}
	req := jobs.GetPendingRequest{ClientToken: opts.conn.ClientToken}
	_, err := cmdutil.Exchange(ctx, &opts.conn, jobs.GetPendingTopic(opts.conn.Thing), req, nil, true)
	return err
}
