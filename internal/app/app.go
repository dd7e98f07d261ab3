// Package app runs the iotjobs command tree and turns its errors into exit
// codes (cmdutil.ExitCode, the one mapping).
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/iotjobs/iotjobs/internal/cli"
	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/spf13/cobra"
)

// Main runs iotjobs with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ios := iostreams.System(stdin, stdout, stderr)
	root := cli.NewRootCmdFor(ios, args)
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		cli.PlainFlagUsages(root)
	}
	root.SetArgs(args)
	executed, err := root.ExecuteContextC(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	code := cmdutil.ExitCode(err)
	if code == cmdutil.ExitInterrupted && cmdutil.IsStream(executed) {
		// Ctrl-C and SIGTERM are how a stream (watch) is meant to end.
		return cmdutil.ExitOK
	}
	var silent cmdutil.SilentExit
	switch {
	case errors.As(err, &silent):
	case code == cmdutil.ExitInterrupted:
		fmt.Fprintln(stderr, "interrupted")
	default:
		fmt.Fprintln(stderr, "iotjobs: "+err.Error())
		if hint := cmdutil.PolicyCheckHint(executed, err); hint != "" {
			fmt.Fprintln(stderr, "  "+hint)
		}
	}
	return code
}
