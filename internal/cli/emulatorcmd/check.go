package emulatorcmd

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/config"
	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/render"
)

type checkOptions struct {
	IO      *iostreams.IOStreams
	Data    string
	Output  string
	JSON    bool // the deprecated --json
	Verbose bool

	format render.Format
}

func newCheckCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &checkOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "check [--data FILE]",
		Short: "Check an emulator's store file for damage, without changing it",
		Long: `Read the emulator's store file without changing it: bbolt's consistency check
of every page, then every job and execution record decoded, and every
execution's job present. Run it on a store the emulator refuses to open, or
before trusting a backup. The emulator using the file must be stopped.

Prints the schema version, the counts and each problem found. A file that is
not there, or that a running emulator holds, gets no report: stderr says so.
Exit status: 0 when the file is sound, 1 when it has problems or cannot be
read at all.`,
		Example: `  $ iotjobs emulator check
  $ iotjobs emulator check --data ./jobs.db
  $ iotjobs emulator check --data ./jobs.db -o json | jq '.problems | length'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Data == "" {
				path, err := config.StorePath()
				if err != nil {
					return cmdutil.Usagef("no state directory to find the store in (%v); give one with --data FILE", err)
				}
				opts.Data = path
			}
			if opts.Data == emulator.MemoryDataPath {
				return cmdutil.Usagef("%s keeps nothing to check: give the --data FILE of a store", emulator.MemoryDataPath)
			}
			format, err := cmdutil.OutputFormat(cmd, ios, opts.Output)
			if err != nil {
				return err
			}
			if opts.JSON {
				fmt.Fprintln(ios.ErrOut, "note: --json is deprecated: use -o json")
				format = render.JSON
			}
			opts.format = format
			return runCheck(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Data, "data", "", "the store `FILE` (default: the emulator's, $XDG_STATE_HOME/iotjobs/emulator.db)")
	_ = cmd.MarkFlagFilename("data")
	cmdutil.AddOutputFlag(cmd, &opts.Output, "pretty (lines) or json (one object)")
	cmdutil.AddNoColorFlag(cmd, ios)
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "say on stderr which file is read, its size and how long the check took")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as one JSON object")
	_ = cmd.Flags().MarkHidden("json")
	return cmd
}

type checkJSON struct {
	Path       string   `json:"path"`
	Sound      bool     `json:"sound"`
	Schema     int      `json:"schema,omitempty"`
	Jobs       int      `json:"jobs"`
	Executions int      `json:"executions"`
	Problems   []string `json:"problems"`
}

// errUnsound is the exit 1 of a store with problems; the report said why.
var errUnsound = fmt.Errorf("the store has problems")

func runCheck(opts *checkOptions) error {
	start := time.Now()
	if opts.Verbose {
		if info, err := os.Stat(opts.Data); err == nil {
			fmt.Fprintf(opts.IO.ErrOut, "reading %s read-only: %d bytes, modified %s\n", opts.Data, info.Size(), jobs.HumanTime(info.ModTime()))
		}
	}
	report, err := store.Check(opts.Data)
	if opts.Verbose {
		fmt.Fprintf(opts.IO.ErrOut, "checked in %s\n", time.Since(start).Round(time.Millisecond))
	}
	// A store that cannot be read at all (none there, locked by a running
	// emulator) is not a damaged one: no report, the reason.
	var damaged *store.DamagedError
	if err != nil && !errors.As(err, &damaged) {
		return err
	}
	out := checkJSON{Path: opts.Data, Schema: report.Schema, Jobs: report.Jobs, Executions: report.Executions, Problems: report.Problems}
	if err != nil {
		out.Problems = append(out.Problems, err.Error())
	}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	out.Sound = len(out.Problems) == 0
	if opts.format == render.JSON {
		if err := cmdutil.WriteJSONLine(opts.IO.Out, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(opts.IO.Out, "store %s: schema %d, %d jobs, %d executions\n", out.Path, out.Schema, out.Jobs, out.Executions)
		bad, good := fmt.Sprint, fmt.Sprint
		if opts.IO.ColorOnStdout() {
			bad, good = color.New(color.FgRed).Sprint, color.New(color.FgGreen).Sprint
		}
		for _, p := range out.Problems {
			fmt.Fprintf(opts.IO.Out, "  %s %s\n", bad("problem:"), p)
		}
		if out.Sound {
			fmt.Fprintln(opts.IO.Out, good("sound"))
		}
	}
	if !out.Sound {
		return errUnsound
	}
	return nil
}
