package emulatorcmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/iostreams"
)

// The demo's thing and job, and the listeners it tries first: with the
// defaults, every command line it prints runs as written against
// `iotjobs emulator`.
const (
	demoThing = "demo-thing"
	demoJob   = "demo-job"
	demoDoc   = `{"operation":"install","package":"demo-app","version":"1.2.3"}`
)

type demoOptions struct {
	IO      *iostreams.IOStreams
	Run     RunFunc
	Output  string
	Verbose bool

	// common are the flags the user gave that every step takes too.
	common []string
}

// RunFunc runs one iotjobs command line (without the program name), as
// the root command would: the demo runs the real commands through it.
type RunFunc func(ctx context.Context, args []string) error

// NewDemoCmd is `iotjobs demo`; run runs each step's command line.
func NewDemoCmd(ios *iostreams.IOStreams, run RunFunc) *cobra.Command {
	opts := &demoOptions{IO: ios, Run: run}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Walk a sample job QUEUED -> IN_PROGRESS -> SUCCEEDED against a throwaway emulator",
		Long: `Start an emulator in this process (nothing is kept), create a job for the thing
demo-thing, and run the real commands against it: get-pending, start-next,
update, describe, update to SUCCEEDED and get-pending again. Each command line is
printed before its reply, so you can run the same lines yourself against
` + "`iotjobs emulator`" + `.

The emulator listens on the default addresses (MQTT 127.0.0.1:1883, control
plane 127.0.0.1:8084) when they are free, else on free ports, and then the
printed lines carry -e and --emulator. -o, --no-color and -v are passed on
to every step, and the printed lines carry them.`,
		Example: `  $ iotjobs demo
  $ iotjobs demo -o json -v
  $ go run ./cmd/iotjobs demo`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := cmdutil.OutputFormat(cmd, ios, opts.Output); err != nil {
				return err
			}
			if cmd.Flags().Changed("output") {
				opts.common = append(opts.common, "-o", opts.Output)
			}
			if opts.Verbose {
				opts.common = append(opts.common, "-v")
			}
			if ios.NoColor() {
				opts.common = append(opts.common, "--no-color")
			}
			return runDemo(cmd.Context(), opts)
		},
	}
	cmdutil.AddOutputFlag(cmd, &opts.Output, "pretty or json, for every step")
	cmdutil.AddNoColorFlag(cmd, ios)
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "trace every step: MQTT for the device commands, HTTP for the control plane")
	return cmd
}

func runDemo(ctx context.Context, opts *demoOptions) error {
	emu, err := startDemoEmulator(ctx)
	if err != nil {
		return err
	}
	defer emu.Close()

	var device, control []string
	if emu.MQTTAddr() != defaultMQTTAddr {
		device = []string{"-e", "mqtt://" + emu.MQTTAddr()}
	}
	if "http://"+emu.HTTPAddr() != defaultEmulatorURL {
		control = []string{"--emulator", "http://" + emu.HTTPAddr()}
	}
	// deviceStep reads like what a user types: the command and its job id,
	// the thing, the request flags, then the endpoint if not the default.
	deviceStep := func(head []string, flags ...string) []string {
		step := append(append([]string{}, head...), "-t", demoThing)
		return append(append(step, flags...), device...)
	}
	steps := [][]string{
		append([]string{"emulator", "create-job", demoJob, "--target", demoThing, "--document", demoDoc,
			"--description", "Install demo-app 1.2.3"}, control...),
		deviceStep([]string{"get-pending"}),
		deviceStep([]string{"start-next"}, "--status-detail", "step=downloading", "--step-timeout", "10"),
		deviceStep([]string{"update", demoJob}, "--status", "IN_PROGRESS", "--status-detail", "step=installing",
			"--expected-version", "2", "--include-job-execution-state"),
		deviceStep([]string{"describe", demoJob}, "--include-job-document=false"),
		deviceStep([]string{"update", demoJob}, "--status", "SUCCEEDED", "--status-detail", "step=done", "--expected-version", "3"),
		deviceStep([]string{"get-pending"}),
		append([]string{"emulator", "describe-execution", demoJob, "--thing", demoThing}, control...),
	}
	prompt := color.New(color.Bold)
	for i, args := range steps {
		args = append(args, opts.common...)
		if i > 0 {
			fmt.Fprintln(opts.IO.Out)
		}
		line := "$ iotjobs " + cmdutil.ShellJoin(args...)
		if opts.IO.ColorOnStdout() {
			line = prompt.Sprint(line)
		}
		fmt.Fprintln(opts.IO.Out, line)
		if err := opts.Run(ctx, args); err != nil {
			return fmt.Errorf("demo step %q: %w", strings.Join(args, " "), err)
		}
	}
	return nil
}

// startDemoEmulator prefers the default addresses, so the printed lines are
// the ones a user types, and falls back to free ports when they are taken.
func startDemoEmulator(ctx context.Context) (*emulator.Emulator, error) {
	cfg := emulator.Config{MQTTAddr: defaultMQTTAddr, HTTPAddr: strings.TrimPrefix(defaultEmulatorURL, "http://"), DataPath: emulator.MemoryDataPath}
	if emu, err := emulator.Start(ctx, cfg); err == nil {
		return emu, nil
	}
	cfg.MQTTAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	emu, err := emulator.Start(ctx, cfg)
	return emu, flagError(err)
}
