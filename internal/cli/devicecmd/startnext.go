package devicecmd

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

type startNextOptions struct {
	conn cmdutil.ConnOptions

	StatusDetails []string
	StepTimeout   int64

	details     map[string]string
	stepTimeout *int64
}

func NewStartNextCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &startNextOptions{conn: cmdutil.ConnOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "start-next",
		Short: "Start or resume the thing's next pending job execution",
		Long: `Start the next pending job execution (StartNextPendingJobExecution).

Publishes on $aws/things/THING/jobs/start-next. The next execution is the
oldest IN_PROGRESS one, else the oldest QUEUED one, which becomes IN_PROGRESS
with the given status details and step timeout; an execution already
IN_PROGRESS is returned unchanged (a note on stderr then says the details
given were not applied, and prints the update that applies them). The reply from .../start-next/accepted is
{"execution":{...},"timestamp":N,"clientToken":"..."}, without "execution"
when nothing is pending.`,
		Example: `  $ iotjobs start-next -t my-thing
  $ iotjobs start-next -t my-thing --status-detail step=download --step-timeout 30
  $ iotjobs start-next -t my-thing | jq -r '.execution.jobId // empty'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runStartNext(cmd.Context(), opts)
		},
	}
	cmdutil.AddStatusDetailFlag(cmd, &opts.StatusDetails)
	cmd.Flags().Int64Var(&opts.StepTimeout, "step-timeout", 0, "`MINUTES` (1-10080) the device has to finish this step before the execution times out")
	opts.conn.AddConnFlags(cmd)
	opts.conn.AddRetriesFlag(cmd, "")
	return cmd
}

func (o *startNextOptions) complete(cmd *cobra.Command) (err error) {
	if o.details, err = cmdutil.ParseStatusDetails(o.StatusDetails); err != nil {
		return err
	}
	if o.stepTimeout, err = cmdutil.StepTimeout(cmd, o.StepTimeout, false); err != nil {
		return err
	}
	return o.conn.Complete(cmd)
}

func runStartNext(ctx context.Context, opts *startNextOptions) error {
	req := jobs.StartNextRequest{
		StatusDetails:        opts.details,
		StepTimeoutInMinutes: opts.stepTimeout,
		ClientToken:          opts.conn.ClientToken,
	}
	reply, err := cmdutil.Exchange(ctx, &opts.conn, jobs.StartNextTopic(opts.conn.Thing), req, nil, true)
	if err == nil {
		opts.noteUnapplied(reply)
	}
	return err
}

// noteUnapplied says when the service returned a head that was already
// IN_PROGRESS: AWS returns it as it is, so the --status-detail and
// --step-timeout given were not applied. It knows by the execution's
// lastUpdatedAt, earlier than the reply's timestamp, or by its
// statusDetails, other than those sent.
func (opts *startNextOptions) noteUnapplied(payload []byte) {
	if opts.details == nil && opts.stepTimeout == nil {
		return
	}
	var reply jobs.ExecutionResponse
	if json.Unmarshal(payload, &reply) != nil || reply.Execution == nil || reply.Execution.Status != jobs.StatusInProgress {
		return
	}
	x := reply.Execution
	if x.LastUpdatedAt >= reply.Timestamp && (opts.details == nil || maps.Equal(x.StatusDetails, opts.details)) {
		return
	}
	args := []string{"update", x.JobID, "--status", string(jobs.StatusInProgress)}
	for _, arg := range opts.StatusDetails {
		args = append(args, "--status-detail", arg)
	}
	if opts.stepTimeout != nil {
		args = append(args, "--step-timeout", strconv.FormatInt(*opts.stepTimeout, 10))
	}
	fmt.Fprintf(opts.conn.IO.ErrOut, "note: job %s was already IN_PROGRESS: start-next returns it as it is, without applying %s (AWS's rule). To apply them:\n  %s\n",
		x.JobID, cmdutil.ShellJoin(args[4:]...), opts.conn.Suggest(args...))
}
