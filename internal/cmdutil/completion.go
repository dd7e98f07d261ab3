package cmdutil

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

// Dynamic completion. Every function here is silent on failure: whatever
// it would print lands in the middle of the user's command line, so a
// broken profiles file or an unreachable broker just completes nothing.

// CompletionTimeout bounds the request a completion sends (get-pending, or
// a control-plane list): a person pressing Tab waits for it.
const CompletionTimeout = 2 * time.Second

// CompleteProfileNames offers the profiles of the profiles file, described
// by their thing and endpoint.
func CompleteProfileNames(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	file, err := loadProfiles()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []cobra.Completion
	for _, name := range file.Names() {
		p := file.Profiles[name]
		names = append(names, cobra.CompletionWithDesc(name, strings.TrimSpace(p.Thing+" "+p.Endpoint)))
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// CompleteProfileThings offers the things the profiles name, described by
// the profiles naming them.
func CompleteProfileThings(_ *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	file, err := loadProfiles()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	profilesOf := map[string][]string{}
	for _, name := range file.Names() {
		if thing := file.Profiles[name].Thing; thing != "" {
			profilesOf[thing] = append(profilesOf[thing], name)
		}
	}
	things := make([]cobra.Completion, 0, len(profilesOf))
	for thing, names := range profilesOf {
		things = append(things, cobra.CompletionWithDesc(thing, "profile "+strings.Join(names, ", ")))
	}
	slices.Sort(things)
	return things, cobra.ShellCompDirectiveNoFileComp
}

// JobIDCompletion completes the <job-id> argument of a command bound to
// conn with the thing's pending executions, and with $next when the
// command takes it. Use it as the command's ValidArgsFunction.
func JobIDCompletion(conn *ConnOptions, next bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var ids []cobra.Completion
		if next {
			ids = append(ids, cobra.CompletionWithDesc(jobs.NextJobID, "the next pending execution"))
		}
		return append(ids, pendingJobIDs(cmd, conn)...), cobra.ShellCompDirectiveNoFileComp
	}
}

// pendingJobIDs sends a get-pending with the connection settings resolved
// from what is typed so far (flags, environment, profile), bounded by
// CompletionTimeout, and returns the job ids described by their status.
// It connects with a client id of its own, so that pressing Tab never pushes
// the real device or a running watch off the broker.
func pendingJobIDs(cmd *cobra.Command, conn *ConnOptions) []cobra.Completion {
	conn.Verbose = false // its trace would go to the shell's terminal
	if err := conn.Complete(cmd); err != nil {
		return nil
	}
	// Its own client id: the thing's, or one the user gave, would knock off
	// the device or a running watch (one connection per client id).
	conn.ClientID = "iotjobs-complete-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, min(conn.Timeout, CompletionTimeout))
	defer cancel()
	c, err := mqttclient.Dial(ctx, conn.ClientConfig())
	if err != nil {
		return nil
	}
	defer c.Close()
	payload, err := json.Marshal(jobs.GetPendingRequest{ClientToken: conn.ClientToken})
	if err != nil {
		return nil
	}
	reply, err := c.Request(ctx, jobs.GetPendingTopic(conn.Thing), payload, conn.ClientToken)
	if err != nil || !reply.Accepted {
		return nil
	}
	var pending jobs.GetPendingResponse
	if err := json.Unmarshal(reply.Payload, &pending); err != nil {
		return nil
	}
	var ids []cobra.Completion
	for _, e := range pending.InProgressJobs {
		ids = append(ids, cobra.CompletionWithDesc(e.JobID, string(jobs.StatusInProgress)))
	}
	for _, e := range pending.QueuedJobs {
		ids = append(ids, cobra.CompletionWithDesc(e.JobID, string(jobs.StatusQueued)))
	}
	return ids
}
