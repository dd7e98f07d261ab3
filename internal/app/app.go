// Package app runs the iotjobs command tree and turns its errors into exit
// codes, in one place.
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
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

// Exit codes of the command-line contract (shared/spec/cli.md).
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitConnection  = 3
	ExitTimeout     = 4
	ExitInterrupted = 130
)

// rejectedExitCodes maps each rejected error code to its exit code.
var rejectedExitCodes = map[jobs.ErrorCode]int{
	jobs.CodeInvalidTopic:           10,
	jobs.CodeInvalidJSON:            11,
	jobs.CodeInvalidRequest:         12,
	jobs.CodeInvalidStateTransition: 13,
	jobs.CodeResourceNotFound:       14,
	jobs.CodeVersionMismatch:        15,
	jobs.CodeInternalError:          16,
	jobs.CodeRequestThrottled:       17,
	jobs.CodeTerminalStateReached:   18,
}

// Main runs iotjobs with args and returns the process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ios := iostreams.System(stdin, stdout, stderr)
	root := cli.NewRootCmd(ios)
	root.SetArgs(args)
	executed, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitCode(err)
	if code == ExitInterrupted && cmdutil.IsStream(executed) {
		// Ctrl-C and SIGTERM are how a stream (watch) is meant to end.
		return ExitOK
	}
	if code == ExitInterrupted {
		fmt.Fprintln(stderr, "interrupted")
	} else {
		fmt.Fprintln(stderr, "iotjobs: "+err.Error())
	}
	return code
}

// ExitCode maps an error of the command tree to its exit code.
func ExitCode(err error) int {
	var (
		usage    *cmdutil.UsageError
		rejected *cmdutil.RejectedError
		conn     *mqttclient.ConnectionError
		timeout  *mqttclient.TimeoutError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage), cmdutil.IsFlagError(err):
		return ExitUsage
	case errors.As(err, &rejected):
		if code, ok := rejectedExitCodes[rejected.Code]; ok {
			return code
		}
		return ExitFailure
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &conn):
		return ExitConnection
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		return ExitTimeout
	}
	return ExitFailure
}
