package emulatorcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// newGroupCmd is `iotjobs emulator group`: the emulator's thing groups from
// the shell, through the registry routes of the control plane.
func newGroupCmd(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group <command>",
		Short: "Manage the emulator's thing groups: create, add and remove things, list, describe, delete",
		Long: `Manage the thing groups of a running emulator (CreateThingGroup,
AddThingToThingGroup, RemoveThingFromThingGroup, ListThingGroups,
ListThingsInThingGroup, DescribeThingGroup, DeleteThingGroup), to rehearse
jobs that target groups without the aws CLI.

A job created with --group NAME runs on the group's members; with
--continuous it also runs on a thing added to the group later, and the
pending execution of a thing removed from it becomes REMOVED. Groups are
flat (no parent groups, no dynamic groups); a thing belongs to at most 10.`,
		Example: `  $ iotjobs emulator group create fleet --description "the lab's devices"
  $ iotjobs emulator group add fleet dev-1 dev-2
  $ iotjobs emulator group add fleet --things things.txt
  $ iotjobs emulator create-job fw-2 --group fleet --continuous --document firmware.json
  $ iotjobs emulator group remove fleet dev-2
  $ iotjobs emulator group list
  $ iotjobs emulator group list fleet | jq -r '.things[]'
  $ iotjobs emulator group delete fleet`,
		Args: cmdutil.NoArgs,
	}
	cmd.AddCommand(
		newGroupCreateCmd(ios),
		newGroupMembershipCmd(ios, groupAdd),
		newGroupMembershipCmd(ios, groupRemove),
		newGroupListCmd(ios),
		newGroupDescribeCmd(ios),
		newGroupDeleteCmd(ios),
	)
	return cmd
}

// groupVerb is the RunE of a verb whose first argument is a thing group
// name: it checks the name, then the verb's own arguments and flags (check,
// when not nil, given the arguments after the name), then the shared ones,
// before run sends anything.
func groupVerb(group *string, ctl *controlOptions, check func(cmd *cobra.Command, rest []string) error, run func(context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := iotapi.ValidateThingGroupName(args[0]); err != nil {
			return cmdutil.UsageExample(cmd, "invalid <group>: %s", serviceMessage(err))
		}
		*group = args[0]
		if check != nil {
			if err := check(cmd, args[1:]); err != nil {
				return err
			}
		}
		if err := ctl.complete(cmd); err != nil {
			return err
		}
		return run(cmd.Context())
	}
}

// answerOf is the answer of a verb that makes its output itself, from
// several calls: out, and its JSON as the body.
func answerOf[T any](out T) (answer[T], error) {
	body, err := json.Marshal(out)
	return answer[T]{body: body, out: out}, err
}

type groupCreateOptions struct {
	ctl controlOptions

	Group       string
	Description string
}

func newGroupCreateCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &groupCreateOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "create <group> [--description TEXT]",
		Short: "Create a thing group",
		Long: `Create a thing group on a running emulator (CreateThingGroup,
POST /thing-groups/NAME).

Creating a group that exists with the same description changes nothing;
with another description it is ResourceAlreadyExistsException (exit 19).

Prints the CreateThingGroup output:
{"thingGroupName":...,"thingGroupArn":...,"thingGroupId":...}.`,
		Example: `  $ iotjobs emulator group create fleet
  $ iotjobs emulator group create lab --description "the bench devices"
  $ iotjobs emulator group create fleet | jq -r .thingGroupArn`,
		Args:              cmdutil.OneArg("<group>"),
		ValidArgsFunction: cobra.NoFileCompletions, // a new name
		RunE:              groupVerb(&opts.Group, &opts.ctl, nil, func(ctx context.Context) error { return runGroupCreate(ctx, opts) }),
	}
	cmd.Flags().StringVar(&opts.Description, "description", "", "`TEXT` describing the group")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runGroupCreate(ctx context.Context, opts *groupCreateOptions) error {
	in := iotapi.CreateThingGroupInput{ThingGroupName: opts.Group}
	if opts.Description != "" {
		in.ThingGroupProperties = &iotapi.ThingGroupProperties{ThingGroupDescription: opts.Description}
	}
	a, err := opts.ctl.client.createThingGroup(ctx, in)
	return show(&opts.ctl, a, err, func(w io.Writer, out iotapi.CreateThingGroupOutput) {
		fields(w, [2]string{"GROUP", out.ThingGroupName}, [2]string{"ARN", out.ThingGroupArn}, [2]string{"ID", out.ThingGroupID})
	})
}

// groupMembership is group add or group remove.
type groupMembership struct {
	verb, short, long, example string
	// past is the verb's past tense, for the summary.
	past, preposition string
}

var (
	groupAdd = groupMembership{
		verb:  "add",
		short: "Add things to a thing group, registering those that are not",
		long: `Add things to a thing group of a running emulator: each thing is registered
(CreateThing, POST /things/NAME) unless it is already, then added
(AddThingToThingGroup, PUT /thing-groups/addThingToThingGroup), one after
the other. The group must exist (iotjobs emulator group create). A thing
already in the group counts as added; a thing already in 10 groups is
InvalidRequestException (exit 12).

A CONTINUOUS job that targets the group queues an execution for each thing
added, as its rollout allows.`,
		example: `  $ iotjobs emulator group add fleet dev-1 dev-2
  $ iotjobs emulator group add fleet --things things.txt
  $ seq -f 'dev-%g' 500 | iotjobs emulator group add fleet --things -
  $ iotjobs emulator group add fleet dev-3 | jq .added`,
		past: "added", preposition: "to",
	}
	groupRemove = groupMembership{
		verb:  "remove",
		short: "Remove things from a thing group",
		long: `Remove things from a thing group of a running emulator
(RemoveThingFromThingGroup, PUT /thing-groups/removeThingFromThingGroup),
one after the other. The things stay registered. A thing not in the group
counts as removed; a thing never registered is ResourceNotFoundException
(exit 14).

When a thing leaves the last group through which a CONTINUOUS job targets
it, its pending execution of the job becomes REMOVED.`,
		example: `  $ iotjobs emulator group remove fleet dev-2
  $ iotjobs emulator group remove fleet --things retired.txt
  $ iotjobs emulator group remove fleet dev-1 dev-3 | jq .removed`,
		past: "removed", preposition: "from",
	}
)

type groupMembershipOptions struct {
	ctl controlOptions

	Group      string
	ThingsFile string

	things []string
	seen   map[string]bool // of things
}

// membershipChange is what group add and group remove print: the group and
// how many things joined or left it.
type membershipChange struct {
	ThingGroupName string `json:"thingGroupName"`
	Added          int    `json:"added,omitempty"`
	Removed        int    `json:"removed,omitempty"`
}

func newGroupMembershipCmd(ios *iostreams.IOStreams, m groupMembership) *cobra.Command {
	opts := &groupMembershipOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   m.verb + " <group> <thing>... [--things FILE]",
		Short: m.short,
		Long: m.long + `

The things are the arguments after the group and those of --things FILE (a
name per line, # comments; - for stdin), each once. Any failure stops
there, saying how many things were ` + m.past + ` before it.

Prints {"thingGroupName":...,"` + m.past + `":N}; on a terminal, a sentence.`,
		Example:           m.example,
		Args:              cmdutil.LeadingArg("<group>"),
		ValidArgsFunction: opts.completeArgs(m),
		RunE: groupVerb(&opts.Group, &opts.ctl, opts.checkThings, func(ctx context.Context) error {
			return runGroupMembership(ctx, opts, m)
		}),
	}
	cmd.Flags().StringVar(&opts.ThingsFile, "things", "", "read more thing names from `FILE`, one per line (- for stdin)")
	_ = cmd.MarkFlagFilename("things", "txt")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

// checkThings reads the things of the arguments and of --things, checked
// and each once.
func (o *groupMembershipOptions) checkThings(cmd *cobra.Command, args []string) error {
	for _, name := range args {
		if err := jobs.ValidateThingName(name); err != nil {
			return cmdutil.UsageExample(cmd, "%v", err)
		}
		o.add(name)
	}
	if o.ThingsFile != "" {
		names, err := cmdutil.ReadThings(o.ThingsFile, o.ctl.IO.In)
		if err != nil {
			return err
		}
		for _, name := range names {
			if err := jobs.ValidateThingName(name); err != nil {
				return cmdutil.UsageExample(cmd, "--things %s: %v", o.ThingsFile, err)
			}
			o.add(name)
		}
	}
	if len(o.things) == 0 {
		return cmdutil.UsageExample(cmd, "%s needs at least one <thing> after the group, or --things FILE", cmd.CommandPath())
	}
	return nil
}

func (o *groupMembershipOptions) add(thing string) {
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	if !o.seen[thing] {
		o.seen[thing] = true
		o.things = append(o.things, thing)
	}
}

func runGroupMembership(ctx context.Context, opts *groupMembershipOptions, m groupMembership) error {
	c := opts.ctl.client
	change := func(ctx context.Context, thing string) error {
		return c.removeThingFromThingGroup(ctx, opts.Group, thing)
	}
	if m == groupAdd {
		// Register nothing for a group that is not there.
		if _, err := c.describeThingGroup(ctx, opts.Group); err != nil {
			return notFoundHint(err, "create it first: iotjobs emulator group create "+opts.Group)
		}
		change = func(ctx context.Context, thing string) error {
			// CreateThing changes nothing for a thing registered without
			// attributes; one registered with some is ResourceAlreadyExists,
			// and is there all the same.
			if err := c.createThing(ctx, thing); err != nil && !isException(err, iotapi.ResourceAlreadyExists) {
				return err
			}
			return c.addThingToThingGroup(ctx, opts.Group, thing)
		}
	}
	for i, thing := range opts.things {
		if err := change(ctx, thing); err != nil {
			return fmt.Errorf("%s %s %s thing group %s (%d of %d %s before): %w", m.verb, thing, m.preposition, opts.Group, i, len(opts.things), m.past, err)
		}
	}
	out := membershipChange{ThingGroupName: opts.Group}
	if m == groupAdd {
		out.Added = len(opts.things)
	} else {
		out.Removed = len(opts.things)
	}
	a, err := answerOf(out)
	return show(&opts.ctl, a, err, func(w io.Writer, out membershipChange) {
		fmt.Fprintf(w, "%s %d %s %s thing group %s\n", m.past, len(opts.things), plural(len(opts.things), "thing"), m.preposition, out.ThingGroupName)
	})
}

// completeArgs completes the group, then the things after it: for add,
// those the profiles name; for remove, the group's members.
func (o *groupMembershipOptions) completeArgs(m groupMembership) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case len(args) == 0:
			return o.ctl.completeGroups(cmd, args, toComplete)
		case m == groupAdd:
			return cmdutil.CompleteProfileThings(cmd, args, toComplete)
		}
		ctx, cancel, ok := o.ctl.completionContext(cmd)
		if !ok {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		defer cancel()
		members, err := o.ctl.client.allThingsInThingGroup(ctx, args[0])
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return slices.DeleteFunc(members, func(thing string) bool { return slices.Contains(args[1:], thing) }), cobra.ShellCompDirectiveNoFileComp
	}
}

type groupOptions struct {
	ctl   controlOptions
	Group string
}

// newGroupNamedCmd is a group verb that takes the group alone: its cobra
// command, with run given the group and the control options.
func newGroupNamedCmd(ios *iostreams.IOStreams, use, short, long, example string, run func(context.Context, *groupOptions) error) *cobra.Command {
	opts := &groupOptions{ctl: controlOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:               use + " <group>",
		Short:             short,
		Long:              long,
		Example:           example,
		Args:              cmdutil.OneArg("<group>"),
		ValidArgsFunction: opts.ctl.completeGroupArg,
		RunE:              groupVerb(&opts.Group, &opts.ctl, nil, func(ctx context.Context) error { return run(ctx, opts) }),
	}
	opts.ctl.addControlFlags(cmd)
	return cmd
}

type groupListOptions struct {
	groupOptions
	Prefix string
}

func newGroupListCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &groupListOptions{groupOptions: groupOptions{ctl: controlOptions{IO: ios}}}
	cmd := &cobra.Command{
		Use:   "list [<group>]",
		Short: "List the thing groups, or the things in one",
		Long: `Without a group, list the thing groups of a running emulator, by name,
all of them (ListThingGroups, GET /thing-groups, page after page); --prefix
keeps those whose name starts with it. Prints the ListThingGroups output,
{"thingGroups":[{"groupName":...,"groupArn":...},...]}; on a terminal, a
table.

With a group, list the things in it, by name, all of them
(ListThingsInThingGroup, GET /thing-groups/NAME/things, page after page).
Prints {"things":["dev-1",...]}; on a terminal, a name per line.`,
		Example: `  $ iotjobs emulator group list fleet
  $ iotjobs emulator group list
  $ iotjobs emulator group list --prefix lab- | jq -r '.thingGroups[].groupName'
  $ iotjobs emulator group list fleet | jq -r '.things[]'
  $ iotjobs emulator group list fleet | jq '.things | length'`,
		Args:              cmdutil.MaxOneArg("<group>"),
		ValidArgsFunction: opts.ctl.completeGroupArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				if err := opts.ctl.complete(cmd); err != nil {
					return err
				}
				return runGroupsList(cmd.Context(), opts)
			}
			check := func(cmd *cobra.Command, _ []string) error {
				if opts.Prefix != "" {
					return cmdutil.UsageExample(cmd, "--prefix filters the list of groups, and the group %s was given: give one or the other", args[0])
				}
				return nil
			}
			return groupVerb(&opts.Group, &opts.ctl, check, func(ctx context.Context) error { return runGroupList(ctx, &opts.groupOptions) })(cmd, args)
		},
	}
	cmd.Flags().StringVar(&opts.Prefix, "prefix", "", "without a group: only the groups whose name starts with `PREFIX`")
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runGroupsList(ctx context.Context, opts *groupListOptions) error {
	groups, err := opts.ctl.client.allThingGroups(ctx, opts.Prefix)
	if err != nil {
		return err
	}
	a, err := answerOf(iotapi.ListThingGroupsOutput{ThingGroups: groups})
	return show(&opts.ctl, a, err, func(w io.Writer, out iotapi.ListThingGroupsOutput) {
		if len(out.ThingGroups) == 0 {
			if opts.Prefix != "" {
				fmt.Fprintf(w, "no thing groups whose name starts with %s\n", opts.Prefix)
				return
			}
			fmt.Fprintln(w, "no thing groups; create one with: iotjobs emulator group create NAME")
			return
		}
		fmt.Fprintln(w, "GROUP\tARN")
		for _, g := range out.ThingGroups {
			fmt.Fprintf(w, "%s\t%s\n", g.GroupName, g.GroupArn)
		}
	})
}

// allThingGroups lists the groups whose name starts with prefix, every
// page; never nil.
func (c *client) allThingGroups(ctx context.Context, prefix string) ([]iotapi.GroupNameAndArn, error) {
	return allPages(func(token string) ([]iotapi.GroupNameAndArn, string, error) {
		a, err := c.listThingGroups(ctx, iotapi.ListThingGroupsInput{NamePrefixFilter: prefix, NextToken: token})
		return a.out.ThingGroups, a.out.NextToken, err
	})
}

// allPages gathers what every page of a list holds, asking page for each
// in turn with the previous one's next token (first ""); never nil.
func allPages[T any](page func(token string) (items []T, next string, err error)) ([]T, error) {
	all := []T{}
	for token := ""; ; {
		items, next, err := page(token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if token = next; token == "" {
			return all, nil
		}
	}
}

func runGroupList(ctx context.Context, opts *groupOptions) error {
	things, err := opts.ctl.client.allThingsInThingGroup(ctx, opts.Group)
	if err != nil {
		return err
	}
	a, err := answerOf(iotapi.ListThingsInThingGroupOutput{Things: things})
	return show(&opts.ctl, a, err, func(w io.Writer, out iotapi.ListThingsInThingGroupOutput) {
		if len(out.Things) == 0 {
			fmt.Fprintf(w, "no things in thing group %s\n", opts.Group)
			return
		}
		fmt.Fprintln(w, "THING")
		for _, thing := range out.Things {
			fmt.Fprintln(w, thing)
		}
	})
}

// allThingsInThingGroup lists the group's members, every page; never nil.
func (c *client) allThingsInThingGroup(ctx context.Context, group string) ([]string, error) {
	return allPages(func(token string) ([]string, string, error) {
		a, err := c.listThingsInThingGroup(ctx, iotapi.ListThingsInThingGroupInput{ThingGroupName: group, NextToken: token})
		return a.out.Things, a.out.NextToken, err
	})
}

func newGroupDescribeCmd(ios *iostreams.IOStreams) *cobra.Command {
	return newGroupNamedCmd(ios, "describe", "Describe a thing group",
		`Describe a thing group of a running emulator (DescribeThingGroup,
GET /thing-groups/NAME).

Prints the DescribeThingGroup output: thingGroupName, thingGroupId,
thingGroupArn, version, thingGroupProperties.thingGroupDescription,
thingGroupMetadata.creationDate (epoch seconds) and status.`,
		`  $ iotjobs emulator group describe fleet
  $ iotjobs emulator group describe fleet | jq -r .thingGroupArn`,
		runGroupDescribe)
}

func runGroupDescribe(ctx context.Context, opts *groupOptions) error {
	a, err := opts.ctl.client.describeThingGroup(ctx, opts.Group)
	return show(&opts.ctl, a, err, func(w io.Writer, g iotapi.ThingGroup) {
		fields(w,
			[2]string{"GROUP", g.ThingGroupName}, [2]string{"ARN", g.ThingGroupArn}, [2]string{"ID", g.ThingGroupID},
			[2]string{"DESCRIPTION", g.ThingGroupProperties.ThingGroupDescription}, [2]string{"VERSION", fmt.Sprint(g.Version)},
			[2]string{"CREATED", g.ThingGroupMetadata.CreationDate.String()}, [2]string{"STATUS", g.Status},
		)
	})
}

func newGroupDeleteCmd(ios *iostreams.IOStreams) *cobra.Command {
	return newGroupNamedCmd(ios, "delete", "Delete a thing group, its members leaving it first",
		`Delete a thing group of a running emulator (DeleteThingGroup,
DELETE /thing-groups/NAME). Its members leave it first, as with group
remove (pending executions of CONTINUOUS jobs that reached them only
through it become REMOVED); the things stay registered. Deleting a group
that is not there succeeds, as on AWS. DeleteThingGroup has no output:
nothing is printed on stdout.`,
		`  $ iotjobs emulator group delete fleet
  $ iotjobs emulator group delete lab --emulator http://127.0.0.1:9084`,
		runGroupDelete)
}

func runGroupDelete(ctx context.Context, opts *groupOptions) error {
	return opts.ctl.done(opts.ctl.client.deleteThingGroup(ctx, opts.Group), "deleted thing group "+opts.Group)
}

// isException reports whether err is the control plane's answer kind.
func isException(err error, kind iotapi.ErrorKind) bool {
	var cpe *ControlPlaneError
	return errors.As(err, &cpe) && cpe.Type == kind.Exception()
}

// notFoundHint adds what to do to a ResourceNotFoundException, keeping its
// exit code.
func notFoundHint(err error, hint string) error {
	if isException(err, iotapi.ResourceNotFound) {
		return fmt.Errorf("%w; %s", err, hint)
	}
	return err
}

// plural is noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}
