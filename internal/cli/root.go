// Package cli holds one file per command: options, flags, validation before
// any connection, and the run function.
package cli

import (
	"errors"
	"strings"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/iostreams"
)

// ErrSilent is returned when the command already told the user everything
// on stderr; app maps it to its exit code without printing it again.
var ErrSilent = errors.New("silent")

// NewRootCmd builds the whole command tree. Commands are added here,
// explicitly.
func NewRootCmd(ios *iostreams.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "iotjobs <command>",
		Short:         "Act as an AWS IoT thing and drive the Jobs device MQTT API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	return root
}

// IsFlagError reports errors cobra raises itself for bad arguments (unknown
// command, wrong number of arguments) that do not go through the flag error
// function.
func IsFlagError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires ") || strings.HasPrefix(msg, "required flag")
}
