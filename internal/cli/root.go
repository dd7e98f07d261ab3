// Package cli is the root command: it wires the command groups together,
// explicitly, and holds nothing else. Each group is a package beside it
// (devicecmd, emulatorcmd, configcmd, versioncmd) with one file per command;
// what groups share lives in internal/cmdutil. No group imports another.
package cli

import (
	"context"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iotjobs/iotjobs/internal/build"
	"github.com/iotjobs/iotjobs/internal/cli/configcmd"
	"github.com/iotjobs/iotjobs/internal/cli/devicecmd"
	"github.com/iotjobs/iotjobs/internal/cli/emulatorcmd"
	"github.com/iotjobs/iotjobs/internal/cli/policycmd"
	"github.com/iotjobs/iotjobs/internal/cli/runcmd"
	"github.com/iotjobs/iotjobs/internal/cli/shellcmd"
	"github.com/iotjobs/iotjobs/internal/cli/versioncmd"
	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
)

// NewRootCmd builds the whole command tree.
func NewRootCmd(ios *iostreams.IOStreams) *cobra.Command { return newRoot(ios, "") }

// NewRootCmdFor builds the tree that running args needs: when args name a
// top-level command (iotjobs get-pending ...), the root with that command
// alone, so that a one-shot command does not build the emulator's verbs
// and every other command on its way to the network; otherwise (help,
// completion, an unknown or no command) the whole tree.
func NewRootCmdFor(ios *iostreams.IOStreams, args []string) *cobra.Command {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue // the root's own flags: -v, --version, --help
		}
		for _, c := range topLevel() {
			if c.name == a {
				return newRoot(ios, a)
			}
		}
		break
	}
	return newRoot(ios, "")
}

// topLevelCmd is a top-level command and the name it is run by.
type topLevelCmd struct {
	name  string
	build func(ios *iostreams.IOStreams) *cobra.Command
}

// topLevel are the top-level commands, in the order help lists them
// (TestTopLevelNames keeps the names true). A function, as demo's steps
// build roots of their own.
func topLevel() []topLevelCmd {
	return []topLevelCmd{
		{"get-pending", devicecmd.NewGetPendingCmd},
		{"start-next", devicecmd.NewStartNextCmd},
		{"describe", devicecmd.NewDescribeCmd},
		{"update", devicecmd.NewUpdateCmd},
		{"watch", devicecmd.NewWatchCmd},
		{"wait", devicecmd.NewWaitCmd},
		{"version", versioncmd.NewVersionCmd},
		{"demo", func(ios *iostreams.IOStreams) *cobra.Command {
			return emulatorcmd.NewDemoCmd(ios, func(ctx context.Context, args []string) error {
				step := NewRootCmdFor(ios, args)
				step.SetArgs(args)
				return step.ExecuteContext(ctx)
			})
		}},
		{"emulator", emulatorcmd.NewEmulatorCmd},
		{"config", configcmd.NewConfigCmd},
		{"run", runcmd.NewRunCmd},
		{"policy", policycmd.NewPolicyCmd},
		{"shell", func(ios *iostreams.IOStreams) *cobra.Command { return shellcmd.NewShellCmd(ios, NewRootCmdFor) }},
	}
}

// newRoot is the root with every top-level command, or with only the one
// named only.
func newRoot(ios *iostreams.IOStreams, only string) *cobra.Command {
	root := &cobra.Command{
		Use:           "iotjobs <command>",
		Short:         "Act as an AWS IoT thing and drive the Jobs device MQTT API",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(cmdutil.FlagError)
	cmdutil.SetUsage(root)
	for _, c := range topLevel() {
		if only == "" || c.name == only {
			root.AddCommand(c.build(ios))
		}
	}
	for _, c := range root.Commands() {
		refuseUnknownSubcommands(c)
	}
	root.Version = build.Read().String()
	root.SetVersionTemplate("{{.Version}}\n")
	// --version without cobra's -v: -v means --verbose on every command.
	root.Flags().Bool("version", false, "print the version and exit")
	// A hidden root -v lets cobra see "iotjobs -v get-pending" as the flag
	// of get-pending rather than a flag that takes "get-pending" as value.
	root.Flags().BoolP("verbose", "v", false, "")
	_ = root.Flags().MarkHidden("verbose")
	return root
}

// GroupsOnly annotates a command that only groups others: it runs only to
// print its help or refuse an unknown subcommand.
const GroupsOnly = "iotjobs-groups-only"

// refuseUnknownSubcommands makes each command below cmd that only groups
// others (config, emulator fault, emulator group) answer an unknown
// subcommand with a usage error (exit 2), as the root does, instead of
// cobra's help and exit 0; alone, it prints its help.
func refuseUnknownSubcommands(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		if cmd.Annotations == nil {
			cmd.Annotations = map[string]string{}
		}
		cmd.Annotations[GroupsOnly] = "true"
		cmd.Args = cmdutil.NoArgs
		cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, c := range cmd.Commands() {
		refuseUnknownSubcommands(c)
	}
}

const rootLong = `iotjobs connects to an MQTT broker as an AWS IoT thing and speaks the Jobs
device API: get-pending, start-next, describe and update, each one request
and its reply on one connection; watch streams notify and notify-next, and
wait blocks until an execution reaches a status. It prints the service's
reply on stdout (indented on a terminal, one JSON line otherwise) and human
status and errors on stderr.

iotjobs emulator runs an offline Jobs service (MQTT broker, jobs engine,
control plane) that every command talks to by default; iotjobs demo walks a
sample job through it. Settings come from flags, then IOTJOBS_* variables,
then a profile (iotjobs config), then defaults.

Exit codes:
  0    accepted; wait: the status was reached; watch: ended by --count,
       --for, Ctrl-C or SIGTERM
  1    rejected with another code, or any other failure
  2    usage error or invalid input; nothing was sent
  3    could not connect, or the connection was lost before the reply
  4    no reply within --timeout
  10   rejected: InvalidTopic
  11   rejected: InvalidJson
  12   rejected: InvalidRequest
  13   rejected: InvalidStateTransition
  14   rejected: ResourceNotFound
  15   rejected: VersionMismatch
  16   rejected: InternalError
  17   rejected: RequestThrottled
  18   rejected: TerminalStateReached
  19   control plane: ResourceAlreadyExistsException
  130  interrupted (all but watch)

The control-plane verbs (iotjobs emulator create-job...) exit with the code
of the device reply that means the same: 12 InvalidRequestException, 13
InvalidStateTransitionException, 14 ResourceNotFoundException, 15
VersionConflictException, 16 InternalFailureException and
ServiceUnavailableException, 17 ThrottlingException and
LimitExceededException; 3 when the emulator cannot be reached, 4 when it
does not answer within --timeout.`

// PlainFlagUsages drops the backticks with which a flag's usage names its
// value (`FILE`): --help turns them into the placeholder, but a shell's
// completion menu, which shows the usage as the flag's description, would
// show the backticks themselves. Main applies it to completion requests.
func PlainFlagUsages(cmd *cobra.Command) {
	strip := func(f *pflag.Flag) { f.Usage = strings.ReplaceAll(f.Usage, "`", "") }
	cmd.Flags().VisitAll(strip)
	cmd.PersistentFlags().VisitAll(strip)
	for _, sub := range cmd.Commands() {
		PlainFlagUsages(sub)
	}
}
