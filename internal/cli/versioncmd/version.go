package versioncmd

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/build"
	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/render"
)

type versionOptions struct {
	IO      *iostreams.IOStreams
	Output  string
	JSON    bool
	Verbose bool
}

// NewVersionCmd is `iotjobs version`.
func NewVersionCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &versionOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cmdutil.NoArgs,
		Example: `  $ iotjobs version
  $ iotjobs version -o json | jq -r .version
  $ iotjobs version -v`,
		RunE: func(*cobra.Command, []string) error { return runVersion(opts) },
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", string(render.Pretty), "`FORMAT`: pretty (one line) or json")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(render.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "add the platform, the module and the modules linked in, for a bug report")
	cmdutil.AddNoColorFlag(cmd, ios)
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
	pretty := format == render.Pretty && !opts.JSON
	switch {
	case pretty && !opts.Verbose:
		_, err := fmt.Fprintln(opts.IO.Out, info.String())
		return err
	case !opts.Verbose:
		return cmdutil.WriteJSONLine(opts.IO.Out, info)
	case !pretty:
		return cmdutil.WriteJSONLine(opts.IO.Out, build.ReadDetails())
	}
	d := build.ReadDetails()
	w := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "version:\t%s\n", d.Version)
	fmt.Fprintf(w, "commit:\t%s\n", cmdutil.Cell(d.Commit))
	if d.Modified {
		fmt.Fprintf(w, "modified:\t%s\n", "yes (uncommitted changes)")
	}
	fmt.Fprintf(w, "date:\t%s\n", cmdutil.Cell(d.Date))
	fmt.Fprintf(w, "go:\t%s\n", d.Go)
	fmt.Fprintf(w, "platform:\t%s\n", d.Platform)
	fmt.Fprintf(w, "module:\t%s\n", cmdutil.Cell(d.Module))
	for i, m := range d.Dependencies {
		label := ""
		if i == 0 {
			label = "dependencies:"
		}
		fmt.Fprintf(w, "%s\t%s %s\n", label, m.Path, m.Version)
	}
	return w.Flush()
}
