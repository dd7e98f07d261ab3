package cmdutil

import (
	"fmt"
	"strings"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// UsageError is invalid input found before anything was sent (exit 2).
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef builds a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// SilentExit ends a command that has said all there is to say, with the
// exit status Code: a shell script whose first failed line was reported
// when it failed.
type SilentExit struct{ Code int }

func (e SilentExit) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// RejectedError is a request the service answered on .../rejected. The
// rejected payload has already been printed on stdout; the message is the
// human summary for stderr.
type RejectedError struct {
	Code    jobs.ErrorCode
	Message string
	// State is the executionState of VersionMismatch and
	// InvalidStateTransition rejections, when the service sent it.
	State *jobs.JobExecutionState
	// Expected is the expectedVersion the request carried, if any.
	Expected *int64
	// Hint says what to do next.
	Hint string
}

func (e *RejectedError) Error() string {
	msg := "rejected: " + string(e.Code)
	switch {
	case e.Code == jobs.CodeVersionMismatch && e.Expected != nil && e.State != nil:
		msg += fmt.Sprintf(" (expected %d, current %d)", *e.Expected, e.State.VersionNumber)
	case e.State != nil:
		msg += fmt.Sprintf(" (execution is %s, version %d)", e.State.Status, e.State.VersionNumber)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Hint != "" {
		msg += "\n  hint: " + e.Hint
	}
	return msg
}

// IsFlagError reports errors cobra raises itself for bad arguments (unknown
// command, wrong number of arguments) that do not go through the flag error
// function.
func IsFlagError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") || strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires ") || strings.HasPrefix(msg, "required flag")
}
