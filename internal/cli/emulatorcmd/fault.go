package emulatorcmd

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
)

// newFaultCmd is `iotjobs emulator fault`: faults injected on demand.
func newFaultCmd(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fault <command>",
		Short: "Inject faults into a running emulator: lost, late or failed replies, duplicate notifications, disconnects",
		Long: `Rehearse what AWS IoT does to devices on a bad day. Each verb sets a fault
on a running emulator (POST /emulator/faults, the emulator's own route); the
emulator logs every fault that fires. A reply fault acts on the replies to
device requests, of one thing with --thing, --count times (default: until
iotjobs emulator fault clear).`,
		Example: `  $ iotjobs emulator fault drop-replies --count 1
  $ iotjobs emulator fault delay-replies --delay 3s --thing my-thing
  $ iotjobs emulator fault internal-errors --probability 0.2
  $ iotjobs emulator fault duplicate-notifications --count 4
  $ iotjobs emulator fault disconnect my-thing-watch
  $ iotjobs emulator fault list | jq '.faults[].kind'
  $ iotjobs emulator fault clear`,
		Args: cmdutil.NoArgs,
	}
	cmd.AddCommand(
		newFaultSetCmd(ios, iotapi.FaultDropReplies, "Lose the replies to device requests", "The service's reply never reaches the device; the request itself is served."),
		newFaultSetCmd(ios, iotapi.FaultDelayReplies, "Delay the replies to device requests", "The reply reaches the device --delay late; the request itself is served at once."),
		newFaultSetCmd(ios, iotapi.FaultInternalErrors, "Answer device requests InternalError", "A request is refused with InternalError, with --probability, and nothing changes."),
		newFaultSetCmd(ios, iotapi.FaultDuplicateNotifications, "Send notify and notify-next twice", "Each notification is published a second time."),
		newFaultDisconnectCmd(ios),
		newFaultListCmd(ios),
		newFaultClearCmd(ios),
	)
	return cmd
}

type faultOptions struct {
	ctl controlOptions
	in  iotapi.FaultInput

	Delay time.Duration
}

func newFaultSetCmd(ios *iostreams.IOStreams, kind iotapi.FaultKind, short, long string) *cobra.Command {
	opts := &faultOptions{ctl: controlOptions{IO: ios}, in: iotapi.FaultInput{Kind: kind}}
	cmd := &cobra.Command{
		Use:   string(kind),
		Short: short,
		Long: long + ` It fires --count times, or until iotjobs emulator fault
clear; --thing keeps it to one thing's requests.

Prints the fault set: {"faults":[{"id":N,"kind":...,"fired":0}]}.`,
		Example: fmt.Sprintf("  $ iotjobs emulator fault %s --count 2 --thing my-thing", kind),
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind == iotapi.FaultDelayReplies {
				opts.in.DelayMillis = opts.Delay.Milliseconds()
			}
			if err := opts.in.Check(); err != nil {
				return cmdutil.Usagef("invalid %s fault: %s", kind, serviceMessage(err))
			}
			if err := opts.ctl.complete(cmd); err != nil {
				return err
			}
			return runInjectFault(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.in.Count, "count", 0, "fire `N` times, then stop (0: until cleared)")
	if kind != iotapi.FaultDuplicateNotifications {
		f.StringVar(&opts.in.Thing, "thing", "", "only the requests of the thing `NAME`")
		_ = cmd.RegisterFlagCompletionFunc("thing", cmdutil.CompleteProfileThings)
	}
	switch kind {
	case iotapi.FaultDelayReplies:
		f.DurationVar(&opts.Delay, "delay", 2*time.Second, "how late each reply comes, a `DURATION`")
	case iotapi.FaultInternalErrors:
		f.Float64Var(&opts.in.Probability, "probability", 1, "the chance `P` (0 < P <= 1) that a request fails")
	}
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func runInjectFault(ctx context.Context, opts *faultOptions) error {
	a, err := opts.ctl.client.injectFault(ctx, opts.in)
	return show(&opts.ctl, a, err, showFaults)
}

func newFaultDisconnectCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &faultOptions{ctl: controlOptions{IO: ios}, in: iotapi.FaultInput{Kind: iotapi.FaultDisconnect}}
	cmd := &cobra.Command{
		Use:   "disconnect <client-id>",
		Short: "Close the connection of a client, now",
		Long: `Close the MQTT connection of the client with CLIENT-ID, as AWS IoT does when
it drops a device (a policy change, a takeover, maintenance). Only the
embedded broker can: in attach mode it is refused. ResourceNotFound when no
client is connected with that id.`,
		Example: `  $ iotjobs emulator fault disconnect my-thing
  $ iotjobs emulator fault disconnect my-thing-watch && sleep 5 && iotjobs emulator fault list`,
		Args: cmdutil.OneArg("<client-id>"),
		// A thing's client id is its name unless --client-id says
		// otherwise: offer the profiles' things, never file names.
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return cmdutil.CompleteProfileThings(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.in.ClientID = args[0]
			if err := opts.in.Check(); err != nil {
				return cmdutil.Usagef("%s", serviceMessage(err))
			}
			if err := opts.ctl.complete(cmd); err != nil {
				return err
			}
			return runInjectFault(cmd.Context(), opts)
		},
	}
	opts.ctl.addControlFlags(cmd)
	return cmd
}

func newFaultListCmd(ios *iostreams.IOStreams) *cobra.Command {
	ctl := &controlOptions{IO: ios}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the active faults",
		Long:    `List the faults set and not yet spent, with how often each fired: {"faults":[...]}.`,
		Example: `  $ iotjobs emulator fault list`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ctl.complete(cmd); err != nil {
				return err
			}
			a, err := ctl.client.listFaults(cmd.Context())
			return show(ctl, a, err, showFaults)
		},
	}
	ctl.addControlFlags(cmd)
	return cmd
}

func newFaultClearCmd(ios *iostreams.IOStreams) *cobra.Command {
	ctl := &controlOptions{IO: ios}
	cmd := &cobra.Command{
		Use:     "clear",
		Short:   "Clear every fault",
		Example: `  $ iotjobs emulator fault clear`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := ctl.complete(cmd); err != nil {
				return err
			}
			return ctl.done(ctl.client.clearFaults(cmd.Context()), "cleared the faults")
		},
	}
	ctl.addControlFlags(cmd)
	return cmd
}

func showFaults(w io.Writer, out iotapi.ListFaultsOutput) {
	if len(out.Faults) == 0 {
		fmt.Fprintln(w, "no faults")
		return
	}
	fmt.Fprintln(w, "ID\tFAULT\tCOUNT\tFIRED")
	for _, f := range out.Faults {
		count := "until cleared"
		if f.Count > 0 || f.Kind == iotapi.FaultDisconnect {
			count = fmt.Sprint(max(f.Count, 1))
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\n", f.ID, f, count, f.Fired)
	}
}
