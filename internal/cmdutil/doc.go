// Package cmdutil is what the command groups under internal/cli share: the
// connection options with their flag > environment > profile > default
// layering, the one-shot request exchange, request flags (--status-detail,
// --step-timeout, --execution-number, the job id argument), typed errors
// that internal/app turns into exit codes, shell-completion helpers and the
// small output helpers of the tables.
//
// What belongs here is used by two groups or more, or by app. What one
// group alone uses stays in that group. It imports no command group, and
// nothing of the emulator: the device side and the service meet only on the
// wire and in internal/jobs.
package cmdutil
