package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{Usagef("bad"), 2},
		{errors.New("unknown command \"x\" for \"iotjobs\""), 2},
		{&mqttclient.ConnectionError{Op: "connect", Err: errors.New("refused")}, 3},
		{fmt.Errorf("wrapped: %w", &mqttclient.ConnectionError{Op: "publish", Err: errors.New("closed")}), 3},
		{&mqttclient.TimeoutError{Op: "get-pending"}, 4},
		{context.DeadlineExceeded, 4},
		{context.Canceled, 130},
		{&RejectedError{Code: "Novel"}, 1},
	}
	for code, exit := range map[jobs.ErrorCode]int{
		jobs.CodeInvalidTopic: 10, jobs.CodeInvalidJSON: 11, jobs.CodeInvalidRequest: 12, jobs.CodeInvalidStateTransition: 13,
		jobs.CodeResourceNotFound: 14, jobs.CodeVersionMismatch: 15, jobs.CodeInternalError: 16, jobs.CodeRequestThrottled: 17,
		jobs.CodeTerminalStateReached: 18,
	} {
		tests = append(tests, struct {
			err  error
			want int
		}{&RejectedError{Code: code}, exit})
	}
	for _, tt := range tests {
		if got := ExitCode(tt.err); got != tt.want {
			t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
