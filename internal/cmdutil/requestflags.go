package cmdutil

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// ParseStatusDetails turns repeated --status-detail KEY=VALUE arguments into
// the statusDetails map. A key given twice is a mistake, not an override.
// The number of pairs is the service's to limit.
func ParseStatusDetails(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	details := make(map[string]string, len(args))
	for _, arg := range args {
		key, value, err := jobs.ParseStatusDetail(arg)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		if _, dup := details[key]; dup {
			return nil, Usagef("status detail key %q is given twice", key)
		}
		details[key] = value
	}
	return details, nil
}

// StepTimeout returns the --step-timeout to send, nil when not given.
func StepTimeout(cmd *cobra.Command, minutes int64, allowCancel bool) (*int64, error) {
	if !cmd.Flags().Changed("step-timeout") {
		return nil, nil
	}
	if err := jobs.ValidateStepTimeout(minutes, allowCancel); err != nil {
		return nil, &UsageError{Err: err}
	}
	return &minutes, nil
}

// ExecutionNumber returns the --execution-number to send, nil when not given.
func ExecutionNumber(cmd *cobra.Command, n int64) (*int64, error) {
	if !cmd.Flags().Changed("execution-number") {
		return nil, nil
	}
	if n < 1 {
		return nil, Usagef("invalid --execution-number %d: must be 1 or more", n)
	}
	return &n, nil
}

// AddStatusDetailFlag binds the repeatable --status-detail KEY=VALUE.
func AddStatusDetailFlag(cmd *cobra.Command, dst *[]string) {
	// StringArray, not StringSlice: a value may contain commas.
	cmd.Flags().StringArrayVar(dst, "status-detail", nil, "statusDetails entry `KEY=VALUE` (repeatable)")
}

// JobIDArg checks the job id argument of a command. nextHint, when given,
// is the message for $next, the likeliest mistake where a command cannot
// take it; without one, $next fails the job id check like any bad id.
func JobIDArg(arg, nextHint string) (string, error) {
	if arg == jobs.NextJobID && nextHint != "" {
		return "", &UsageError{Err: errors.New(nextHint)}
	}
	if err := jobs.ValidateJobID(arg); err != nil {
		return "", &UsageError{Err: err}
	}
	return arg, nil
}
