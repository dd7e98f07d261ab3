package devicecmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/render"
)

type watchOptions struct {
	conn cmdutil.ConnOptions

	Count      int
	For        time.Duration
	NotifyOnly bool
	NextOnly   bool

	filters []string
	tokens  clientTokens
}

// errWatchOver is the cause of the context --for ends, telling that end
// (exit 0) from an interruption.
var errWatchOver = errors.New("--for elapsed")

func NewWatchCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &watchOptions{conn: cmdutil.ConnOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Stream the thing's notify and notify-next messages",
		Long: `Stream the messages the Jobs service sends the thing: notify
(JobExecutionsChanged: the pending set, sent when an execution joins or leaves
it) on $aws/things/THING/jobs/notify and notify-next (NextJobExecutionChanged:
the new head of the queue) on .../notify-next; one of them only with
--notify-only or --next-only.

Piped (-o json), each message is one line, written as soon as it arrives:
  {"topic":"$aws/things/THING/jobs/notify","payload":{...}}
with the payload as the service sent it, compacted. On a terminal (-o pretty)
each is a summary line: time received, stream, execution ids and statuses:
  12:03:04 notify       IN_PROGRESS job-1 (v2) · QUEUED job-2, job-3
  12:03:04 notify-next  job-2 QUEUED v1
Use -o json on a terminal for the full messages.

The watch keeps going when the connection drops: it reconnects with backoff
(1 s doubling up to 30 s; up to 5 s to an endpoint on this machine, such as
a local emulator), subscribes again, and says so on stderr. Messages
sent while it was away are lost, so after each reconnect it asks for the
pending jobs (get-pending) and prints the reply as a resync line:
  {"topic":"$aws/things/THING/jobs/get/accepted","resync":true,"payload":{...}}
Resync lines do not count towards --count.

It runs until --count messages were printed, --for has elapsed, or Ctrl-C or
SIGTERM; all of these end it with exit 0. --timeout bounds the first connect
and subscribe (exit 3 or 4), and each resync request.`,
		Example: `  $ iotjobs watch -t my-thing
  $ iotjobs watch -t my-thing | jq .payload.execution.jobId
  $ iotjobs watch -t my-thing --next-only --count 1
  $ iotjobs watch -t my-thing --for 1h -o json >> my-thing-notifications.jsonl`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runWatch(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Count, "count", 0, "stop after `N` messages")
	f.DurationVar(&opts.For, "for", 0, "stop after watching for `DURATION`, e.g. 30s or 1h")
	f.BoolVar(&opts.NotifyOnly, "notify-only", false, "watch notify only")
	f.BoolVar(&opts.NextOnly, "next-only", false, "watch notify-next only")
	opts.conn.AddConnFlags(cmd)
	f.Lookup("timeout").Usage = "bound on the first connect and subscribe, and on each resync, a `DURATION` (env " + cmdutil.EnvTimeout + ")"
	f.Lookup("client-token").Usage = "clientToken `TOKEN` of the resync requests (default: a fresh random token for each)"
	cmdutil.MarkStream(cmd)
	return cmd
}

func (o *watchOptions) complete(cmd *cobra.Command) error {
	switch {
	case o.NotifyOnly && o.NextOnly:
		return cmdutil.Usagef("--notify-only and --next-only exclude each other; give neither to watch both")
	case cmd.Flags().Changed("count") && o.Count < 1:
		return cmdutil.Usagef("invalid --count %d: must be 1 or more", o.Count)
	case cmd.Flags().Changed("for") && o.For <= 0:
		return cmdutil.Usagef("invalid --for %s: must be a positive duration such as 30s or 1h", o.For)
	}
	if err := o.conn.Complete(cmd); err != nil {
		return err
	}
	o.filters = notificationTopics(o.conn.Thing, !o.NextOnly, !o.NotifyOnly)
	o.tokens = newClientTokens(cmd, &o.conn)
	return nil
}

func runWatch(ctx context.Context, opts *watchOptions) error {
	o := &opts.conn
	// --for bounds the whole watch, the first connect included.
	if opts.For > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, opts.For, errWatchOver)
		defer stop()
	}
	dialCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	w, err := dialStream(dialCtx, o, opts.filters)
	cancel()
	switch {
	case err == nil:
	case errors.Is(context.Cause(ctx), errWatchOver):
		// --for ran out first: the watch is over, as asked, but a script
		// reading nothing must learn that nothing was watched.
		fmt.Fprintf(o.IO.ErrOut, "--for %s ran out before the connection to %s was complete: nothing was watched\n", opts.For, o.ParsedEndpoint())
		return nil
	default:
		return err
	}
	defer w.Close()
	if o.IO.IsStderrTTY() {
		fmt.Fprintf(o.IO.ErrOut, "watching %s (Ctrl-C to stop)\n", strings.Join(opts.filters, ", "))
	}

	out := render.New(o.IO, o.Format())
	for printed := 0; opts.Count == 0 || printed < opts.Count; {
		e, err := w.Next(ctx)
		if err != nil {
			if errors.Is(context.Cause(ctx), errWatchOver) {
				return nil
			}
			return err // interrupted: app decides what that means for a stream
		}
		switch e.Kind {
		case mqttclient.Message:
			if err := out.Notification(render.Notification{Topic: e.Topic, Payload: e.Payload, At: e.At}); err != nil {
				return err
			}
			printed++
		case mqttclient.Lost, mqttclient.Retrying:
			w.report(e)
		case mqttclient.Reconnected:
			w.report(e)
			if err := opts.resync(ctx, w.Conn, out); err != nil {
				return err
			}
		}
	}
	return nil
}

// resync prints the pending jobs after a reconnect, standing in for the
// notifications sent while the watch was away. Failing to get them is
// reported and the watch goes on: the next notification carries the whole
// pending set again anyway.
func (opts *watchOptions) resync(ctx context.Context, conn *mqttclient.Conn, out *render.Printer) error {
	o := &opts.conn
	reqCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	topic := jobs.GetPendingTopic(o.Thing)
	token := opts.tokens.next()
	reply, err := request(reqCtx, conn, topic, jobs.GetPendingRequest{ClientToken: token}, token)
	switch {
	case ctx.Err() != nil:
		return nil // stopping; the loop says why
	case err != nil:
		fmt.Fprintf(o.IO.ErrOut, "could not resynchronise with get-pending: %v\n", o.ExplainTimeout(err))
		return nil
	case !reply.Accepted:
		fmt.Fprintf(o.IO.ErrOut, "could not resynchronise with get-pending: %v\n", o.Rejection(topic, nil, reply.Payload, nil))
		return nil
	}
	return out.Notification(render.Notification{Topic: reply.Topic, Payload: reply.Payload, At: time.Now(), Resync: true})
}
