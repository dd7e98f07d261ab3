package emulatorcmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/config"
	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iostreams"
)

type checkOptions struct {
	IO   *iostreams.IOStreams
	Data string
	JSON bool
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

Prints the schema version, the counts and each problem found. Exit status:
0 when the file is sound, 1 when it has problems or cannot be read at all.`,
		Example: `  $ iotjobs emulator check
  $ iotjobs emulator check --data ./jobs.db
  $ iotjobs emulator check --data ./jobs.db --json | jq '.problems | length'`,
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
			return runCheck(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Data, "data", "", "the store `FILE` (default: the emulator's, $XDG_STATE_HOME/iotjobs/emulator.db)")
	_ = cmd.MarkFlagFilename("data")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the report as one JSON object")
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
	report, err := store.Check(opts.Data)
	out := checkJSON{Path: opts.Data, Schema: report.Schema, Jobs: report.Jobs, Executions: report.Executions, Problems: report.Problems}
	if err != nil {
		out.Problems = append(out.Problems, err.Error())
	}
	if out.Problems == nil {
		out.Problems = []string{}
	}
	out.Sound = len(out.Problems) == 0
	if opts.JSON {
		if err := cmdutil.WriteJSONLine(opts.IO.Out, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(opts.IO.Out, "store %s: schema %d, %d jobs, %d executions\n", out.Path, out.Schema, out.Jobs, out.Executions)
		for _, p := range out.Problems {
			fmt.Fprintf(opts.IO.Out, "  problem: %s\n", p)
		}
		if out.Sound {
			fmt.Fprintln(opts.IO.Out, "sound")
		}
	}
	if !out.Sound {
		return errUnsound
	}
	return nil
}
