package cmdutil

import (
	"context"
	"errors"

	"github.com/iotjobs/iotjobs/internal/iotapi"
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

// ExitAlreadyExists is the exit code of a control-plane
// ResourceAlreadyExistsException, which no device reply has.
const ExitAlreadyExists = 19

// exceptionExitCodes maps each AWS control-plane exception to the exit code
// of the device reply that means the same, so that a script tells "not
// found" or "conflict" apart the same way for both (iotjobs --help).
var exceptionExitCodes = map[string]int{
	iotapi.InvalidRequest.Exception():         rejectedExitCodes[jobs.CodeInvalidRequest],
	iotapi.InvalidStateTransition.Exception(): rejectedExitCodes[jobs.CodeInvalidStateTransition],
	iotapi.ResourceNotFound.Exception():       rejectedExitCodes[jobs.CodeResourceNotFound],
	iotapi.VersionConflict.Exception():        rejectedExitCodes[jobs.CodeVersionMismatch],
	iotapi.InternalFailure.Exception():        rejectedExitCodes[jobs.CodeInternalError],
	iotapi.ResourceAlreadyExists.Exception():  ExitAlreadyExists,
	// AWS sends these; the emulator does not.
	"ServiceUnavailableException": rejectedExitCodes[jobs.CodeInternalError],
	"ThrottlingException":         rejectedExitCodes[jobs.CodeRequestThrottled],
	"LimitExceededException":      rejectedExitCodes[jobs.CodeRequestThrottled],
}

// ServiceException is the error of a control-plane answer: its AWS
// exception name (e.g. ResourceNotFoundException) sets the exit code.
type ServiceException interface {
	error
	Exception() string
}

// ExitCode maps an error of the command tree to its exit code: the one
// place where that is decided (app exits with it; fan-out reports it per
// thing).
func ExitCode(err error) int {
	var (
		usage     *UsageError
		rejected  *RejectedError
		exception ServiceException
		conn      *mqttclient.ConnectionError
		timeout   *mqttclient.TimeoutError
		silent    SilentExit
	)
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &silent):
		return silent.Code
	case errors.As(err, &usage), IsFlagError(err):
		return ExitUsage
	case errors.As(err, &rejected):
		if code, ok := rejectedExitCodes[rejected.Code]; ok {
			return code
		}
		return ExitFailure
	case errors.As(err, &exception):
		if code, ok := exceptionExitCodes[exception.Exception()]; ok {
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
