package cli

import (
	"fmt"

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

// RejectedError is a request the service answered on .../rejected. The
// rejected payload has already been printed on stdout; the message is the
// human summary for stderr.
type RejectedError struct {
	Code    jobs.ErrorCode
	Message string
}

func (e *RejectedError) Error() string {
	return "rejected: " + string(e.Code) + ": " + e.Message
}
