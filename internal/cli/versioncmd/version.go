package versioncmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/build"
	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/render"
)

type versionOptions struct {
	IO     *iostreams.IOStreams
	Output string
	JSON   bool
}

// NewVersionCmd is `iotjobs version`.
func NewVersionCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &versionOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cmdutil.NoArgs,
		Example: `  $ iotjobs version
  $ iotjobs version -o json | jq -r .version`,
		RunE: func(*cobra.Command, []string) error { return runVersion(opts) },
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", string(render.Pretty), "`FORMAT`: pretty (one line) or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(render.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
	f.BoolVar(&opts.JSON, "json", false, "print the build information as JSON")
	// Hidden, and its note goes to stderr: cobra's deprecation notice goes
	// to stdout, the output's stream here, and would break the JSON.
	_ = f.MarkHidden("json")
	return cmd
}

func runVersion(opts *versionOptions) error {
	info := build.Read()
	format, err := render.ParseFormat(opts.Output)
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if opts.JSON {
		fmt.Fprintln(opts.IO.ErrOut, "note: --json is deprecated: use -o json")
	}
	if format == render.Pretty && !opts.JSON {
		_, err := fmt.Fprintln(opts.IO.Out, info.String())
		return err
	}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(opts.IO.Out, string(b))
	return err
}
