package jobs

import (
	"errors"
	"testing"
)

func TestTopicStringAndParseRoundTrip(t *testing.T) {
	tests := []struct {
		topic Topic
		want  string
	}{
		{GetPendingTopic("t1"), "$aws/things/t1/jobs/get"},
		{GetPendingTopic("t1").Accepted(), "$aws/things/t1/jobs/get/accepted"},
		{StartNextTopic("t:1").Rejected(), "$aws/things/t:1/jobs/start-next/rejected"},
		{DescribeTopic("t1", "job-1"), "$aws/things/t1/jobs/job-1/get"},
		{DescribeTopic("t1", NextJobID).Accepted(), "$aws/things/t1/jobs/$next/get/accepted"},
		{UpdateTopic("t1", "job_1").Rejected(), "$aws/things/t1/jobs/job_1/update/rejected"},
		{NotifyTopic("t1"), "$aws/things/t1/jobs/notify"},
		{NotifyNextTopic("t1"), "$aws/things/t1/jobs/notify-next"},
	}
	for _, tt := range tests {
		if got := tt.topic.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.topic, got, tt.want)
		}
		parsed, err := ParseTopic(tt.want)
		if err != nil || parsed != tt.topic {
			t.Errorf("ParseTopic(%q) = %+v, %v, want %+v", tt.want, parsed, err, tt.topic)
		}
		if parsed.Request().Reply != ReplyNone {
			t.Errorf("Request() keeps the reply suffix")
		}
	}
}

func TestParseTopicErrors(t *testing.T) {
	tests := []struct {
		name      string
		wantErr   error
		wantThing string
	}{
		{"a/b", ErrNotJobsTopic, ""},
		{"$aws/things/t1/shadow/get", ErrNotJobsTopic, ""},
		{"$aws/things/t1", ErrNotJobsTopic, ""},
		{"$aws/things/t1/jobsx/get", ErrNotJobsTopic, ""},
		{"$aws/things/t1/jobs", ErrInvalidTopic, "t1"},
		{"$aws/things/t1/jobs/", ErrInvalidTopic, "t1"},
		{"$aws/things/t1/jobs/unknown", ErrInvalidTopic, "t1"},
		{"$aws/things/t1/jobs/notify/accepted", ErrInvalidTopic, "t1"},
		{"$aws/things/t1/jobs/j1/delete", ErrInvalidTopic, "t1"},
		{"$aws/things/t1/jobs/$next/update", ErrInvalidTopic, "t1"},
		{"$aws/things/t1/jobs/j:1/get", ErrInvalidTopic, "t1"},
		{"$aws/things/t1/jobs/a/b/get", ErrInvalidTopic, "t1"},
		{"$aws/things/t+1/jobs/get", ErrInvalidTopic, "t+1"},
		{"$aws/things//jobs/get", ErrInvalidTopic, ""},
	}
	for _, tt := range tests {
		got, err := ParseTopic(tt.name)
		if !errors.Is(err, tt.wantErr) || got.Thing != tt.wantThing {
			t.Errorf("ParseTopic(%q) = %+v, %v, want %v with thing %q", tt.name, got, err, tt.wantErr, tt.wantThing)
		}
	}
}

func TestOperationNames(t *testing.T) {
	for op, want := range map[Operation]string{
		OpGetPending: "get-pending", OpStartNext: "start-next", OpDescribe: "describe", OpUpdate: "update",
		OpNotify: "notify", OpNotifyNext: "notify-next", 0: "unknown",
	} {
		if op.String() != want {
			t.Errorf("%d.String() = %q, want %q", op, op.String(), want)
		}
		if op.Request() != (op >= OpGetPending && op <= OpUpdate) {
			t.Errorf("%s.Request() = %v", op, op.Request())
		}
	}
}
