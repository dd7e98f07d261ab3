package emulatorcmd

import (
	"context"
	"path"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

// completionContext resolves the control plane from what is typed so far,
// as the verb itself would (complete), and bounds the call by
// cmdutil.CompletionTimeout; ok is false when the settings do not resolve.
func (o *controlOptions) completionContext(cmd *cobra.Command) (ctx context.Context, cancel context.CancelFunc, ok bool) {
	o.Verbose = false // its trace would go to the shell's terminal
	if o.complete(cmd) != nil {
		return nil, nil, false
	}
	o.client.timeout = min(o.client.timeout, cmdutil.CompletionTimeout)
	ctx = cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel = context.WithTimeout(ctx, cmdutil.CompletionTimeout)
	return ctx, cancel, true
}

// completeJobIDs completes a job id with the emulator's jobs, described by
// their status; never with file names. It serves the <job-id> argument
// and --job.
func (o *controlOptions) completeJobIDs(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 && cmd.Flags().Lookup("job") == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp // the one argument is there
	}
	ctx, cancel, ok := o.completionContext(cmd)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer cancel()
	a, err := o.client.listJobs(ctx, iotapi.ListJobsInput{})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ids := make([]cobra.Completion, 0, len(a.out.Jobs))
	for _, j := range a.out.Jobs {
		ids = append(ids, cobra.CompletionWithDesc(j.JobID, string(j.Status)))
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// completeThings completes the --thing of a verb about a job (its argument,
// or --job): the things with an execution of it, else the things the
// profiles name; never file names.
func (o *controlOptions) completeThings(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	jobID, _ := cmd.Flags().GetString("job")
	if len(args) > 0 {
		jobID = args[0]
	}
	if jobID == "" {
		return cmdutil.CompleteProfileThings(cmd, args, toComplete)
	}
	ctx, cancel, ok := o.completionContext(cmd)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer cancel()
	a, err := o.client.listJobExecutionsForJob(ctx, iotapi.ListExecutionsInput{JobID: jobID})
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
// completion of its own and is not marked as a file (MarkFlagFilename)
// complete nothing, rather than the shell's default of file names.
func noFileCompletion(cmd *cobra.Command) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		_, hasFunc := cmd.GetFlagCompletionFunc(f.Name)
		_, isFile := f.Annotations[cobra.BashCompFilenameExt]
		if hasFunc || isFile || f.Value.Type() == "bool" {
			return
		}
		_ = cmd.RegisterFlagCompletionFunc(f.Name, cobra.NoFileCompletions)
	})
	for _, sub := range cmd.Commands() {
		noFileCompletion(sub)
	}
}

// completeGroupArg completes the <group> argument of a group verb, the
// first: see completeGroups.
func (o *controlOptions) completeGroupArg(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return o.completeGroups(cmd, args, toComplete)
}

// completeGroups completes a thing group name with the emulator's groups
// (ListThingGroups, those starting with what is typed); never with file
// names. It serves the <group> argument of the group verbs and create-job's
// --group.
func (o *controlOptions) completeGroups(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx, cancel, ok := o.completionContext(cmd)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	defer cancel()
	groups, err := o.client.allThingGroups(ctx, toComplete)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := make([]cobra.Completion, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.GroupName)
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
