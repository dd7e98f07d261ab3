package cmdutil

import (
	"context"
	"errors"

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

// ExitCode maps an error of the command tree to its exit code: the one
// place where that is decided (app exits with it; fan-out reports it per
// thing).
func ExitCode(err error) int {
	var (
		usage    *UsageError
		rejected *RejectedError
		conn     *mqttclient.ConnectionError
		timeout  *mqttclient.TimeoutError
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &usage), IsFlagError(err):
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
