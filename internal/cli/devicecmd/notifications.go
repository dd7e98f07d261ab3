package devicecmd

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/fatih/color"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

// This file holds what the long-lived commands, watch and wait, share: a
// connection that survives drops, the notification topics, and requests
// made on the side of a watch.

// notificationTopics are the filters of a watch: notify, notify-next or
// both.
func notificationTopics(thing string, notify, next bool) []string {
	var filters []string
	if notify {
		filters = append(filters, jobs.NotifyTopic(thing).String())
	}
	if next {
		filters = append(filters, jobs.NotifyNextTopic(thing).String())
	}
	return filters
}

// stream is the connection of a long-lived command: it survives drops, and
// reports them on stderr.
type stream struct {
	*mqttclient.Watch
	conn *cmdutil.ConnOptions
	// takeoverHinted: the command has said once why the broker may hang up
	// on it.
	takeoverHinted bool
}

// dialStream connects with auto-reconnect and subscribes to filters; ctx
// bounds the connect and the SUBSCRIBE.
//
// Inside a session (iotjobs shell), the session's connection serves: the
// stream reads its notifications, which are the thing's notify and
// notify-next.
func dialStream(ctx context.Context, o *cmdutil.ConnOptions, filters []string) (*stream, error) {
	if w, ok, err := cmdutil.SessionStream(ctx, o.Thing); ok {
		if err != nil {
			return nil, err
		}
		return &stream{Watch: w, conn: o}, nil
	}
	o.WarnImpersonation()
	w, err := mqttclient.DialWatch(ctx, o.ClientConfig(), filters)
	if err != nil {
		return nil, o.ExplainTimeout(err)
	}
	return &stream{Watch: w, conn: o}, nil
}

// report says on stderr, whether or not it is a terminal, that the
// connection dropped or came back: the command carries on either way, and a
// log reader needs to know there was a gap.
func (s *stream) report(e mqttclient.Event) {
	o := s.conn
	at := jobs.HumanTime(e.At)
	switch e.Kind {
	case mqttclient.Lost:
		when := ""
		if e.RetryIn > 0 {
			when = " in " + e.RetryIn.String()
		}
		fmt.Fprintf(o.IO.ErrOut, "%s %s from %s (%v); reconnecting%s\n", at, color.YellowString("disconnected"), o.ParsedEndpoint(), e.Err, when)
		if !s.takeoverHinted && mqttclient.IsHangUp(e.Err) {
			// The broker hung up: it went away, or another connection took
			// our client id, which brokers and AWS IoT allow only once.
			s.takeoverHinted = true
			whose, advice := "this one's", ""
			if o.Origin("client-id").Default() {
				// Only a default id is worth changing: the user chose theirs.
				whose, advice = "the", " (every iotjobs command uses the thing name by default; give this one its own with --client-id)"
			}
			fmt.Fprintf(o.IO.ErrOut, "  hint: the broker closed the connection: it restarted, or another client connected with %s client id %q%s\n", whose, o.ClientID, advice)
		}
	case mqttclient.Retrying:
		if e.Err != nil {
			fmt.Fprintf(o.IO.ErrOut, "%s %s from %s: reconnect attempt %d failed (%v); the next within %s\n",
				at, color.YellowString("still disconnected"), o.ParsedEndpoint(), e.Attempt-1, e.Err, e.Within)
			break
		}
		fmt.Fprintf(o.IO.ErrOut, "%s %s from %s: reconnect attempt %d failed; trying again now (attempts back off to one every %s)\n",
			at, color.YellowString("still disconnected"), o.ParsedEndpoint(), e.Attempt-1, e.Within)
	case mqttclient.Reconnected:
		fmt.Fprintf(o.IO.ErrOut, "%s %s to %s\n", at, color.GreenString("reconnected"), o.ParsedEndpoint())
	}
}

// clientTokens gives each request of a long-lived command its clientToken:
// the one of --client-token if the user gave it, else a fresh one per
// request, so that a late duplicate of one reply cannot pass for the
// answer to the next request on the same topic.
type clientTokens struct{ fixed string }

func newClientTokens(cmd *cobra.Command, o *cmdutil.ConnOptions) clientTokens {
	if cmd.Flags().Changed("client-token") {
		return clientTokens{fixed: o.ClientToken}
	}
	return clientTokens{}
}

func (c clientTokens) next() string {
	if c.fixed != "" {
		return c.fixed
	}
	return uuid.NewString()
}

// request sends one request on an open connection and returns the reply,
// accepted or rejected; the caller decides what a rejection means.
func request(ctx context.Context, conn *mqttclient.Conn, topic jobs.Topic, req any, token string) (mqttclient.Reply, error) {
	payload, err := json.Marshal(req)
	if err != nil {
		return mqttclient.Reply{}, err
	}
	return conn.Request(ctx, topic, payload, token)
}
