package emulatorcmd

import (
	"context"
	"path"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

// completionTimeout bounds the control-plane call a completion makes: a
// person pressing Tab waits for it.
const completionTimeout = 2 * time.Second

// completionClient is the control plane the command line typed so far
// points at (--emulator, IOTJOBS_EMULATOR, --timeout), or nil.
func completionClient(cmd *cobra.Command) (*client, context.Context, context.CancelFunc) {
	emulator, _ := cmd.Flags().GetString("emulator")
	timeout, _ := cmd.Flags().GetDuration("timeout")
	cmdutil.FromEnv(cmd, "emulator", envEmulator, &emulator)
	u, err := parseEmulatorURL(emulator)
	if err != nil || timeout <= 0 {
		return nil, nil, nil
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	return &client{base: u, timeout: min(timeout, completionTimeout)}, ctx, cancel
}

// completeJobIDs completes a job id with the emulator's jobs, described by
// their status; never with file names.
func completeJobIDs(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 && cmd.Flags().Lookup("job") == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c, ctx, cancel := completionClient(cmd)
	if c == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer cancel()
	a, err := c.listJobs(ctx, iotapi.ListJobsInput{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ids := make([]cobra.Completion, 0, len(a.out.Jobs))
	for _, j := range a.out.Jobs {
		ids = append(ids, cobra.CompletionWithDesc(j.JobID, string(j.Status)))
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// completeThings completes a thing name: the things with an execution of
// the job the command names (its argument or --job), else the things the
// profiles name; never file names.
func completeThings(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	jobID, _ := cmd.Flags().GetString("job")
	if len(args) > 0 && cmd.Name() != "create-job" {
		jobID = args[0]
	}
	if jobID == "" {
		return cmdutil.CompleteProfileThings(cmd, args, toComplete)
	}
	c, ctx, cancel := completionClient(cmd)
	if c == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer cancel()
	a, err := c.listJobExecutionsForJob(ctx, iotapi.ListExecutionsInput{JobID: jobID})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	things := make([]cobra.Completion, 0, len(a.out.ExecutionSummaries))
	for _, x := range a.out.ExecutionSummaries {
		things = append(things, cobra.CompletionWithDesc(path.Base(x.ThingArn), string(x.JobExecutionSummary.Status)))
	}
	return things, cobra.ShellCompDirectiveNoFileComp
}

// noFileCompletion makes every flag of cmd and its subcommands that has no
// completion of its own and takes no file complete nothing, rather than the
// shell's default of file names.
func noFileCompletion(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		_, hasFunc := cmd.GetFlagCompletionFunc(f.Name)
		_, isFile := f.Annotations[cobra.BashCompFilenameExt]
		if hasFunc || isFile || f.Value.Type() == "bool" || slices.Contains(fileFlags, f.Name) {
			return
		}
		_ = cmd.RegisterFlagCompletionFunc(f.Name, cobra.NoFileCompletions)
	})
	for _, sub := range cmd.Commands() {
		noFileCompletion(sub)
	}
}

// fileFlags take a file name, completed as such.
var fileFlags = []string{"data", "tls-cert", "tls-key", "client-ca"}
