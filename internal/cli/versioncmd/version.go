package versioncmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/build"
	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
)

type versionOptions struct {
	IO   *iostreams.IOStreams
	JSON bool
}

// NewVersionCmd is `iotjobs version`.
func NewVersionCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &versionOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cmdutil.NoArgs,
		Example: `  $ iotjobs version
  $ iotjobs version --json | jq -r .version`,
		RunE: func(*cobra.Command, []string) error { return runVersion(opts) },
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the build information as JSON")
	return cmd
}

func runVersion(opts *versionOptions) error {
	info := build.Read()
	if !opts.JSON {
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
