package render

import (
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iostreams"
)

const (
	notifyTopic = "$aws/things/t1/jobs/notify"
	nextTopic   = "$aws/things/t1/jobs/notify-next"
)

var at = time.Date(2026, 1, 2, 12, 3, 4, 0, time.UTC)

func TestNotificationJSON(t *testing.T) {
	tests := []struct {
		name string
		n    Notification
		want string
	}{
		{"compacted in the service's order", Notification{Topic: notifyTopic, Payload: []byte("{\"timestamp\": 5,\n \"jobs\": {}}")},
			`{"topic":"$aws/things/t1/jobs/notify","payload":{"timestamp":5,"jobs":{}}}`},
		{"resync", Notification{Topic: "$aws/things/t1/jobs/get/accepted", Resync: true, Payload: []byte(`{"inProgressJobs":[],"queuedJobs":[]}`)},
			`{"topic":"$aws/things/t1/jobs/get/accepted","resync":true,"payload":{"inProgressJobs":[],"queuedJobs":[]}}`},
		{"not JSON stays a valid line", Notification{Topic: nextTopic, Payload: []byte("oops \"x\"")},
			`{"topic":"$aws/things/t1/jobs/notify-next","payload":"oops \"x\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ios, _, out, _ := iostreams.Test()
			tt.n.At = at
			if err := New(ios, JSON).Notification(tt.n); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want+"\n" {
				t.Errorf("got  %s\nwant %s", out, tt.want)
			}
		})
	}
}

func TestNotificationPretty(t *testing.T) {
	tests := []struct {
		topic, payload string
		resync         bool
		want           string
	}{
		{notifyTopic, `{"timestamp":5,"jobs":{"QUEUED":[{"jobId":"job-2","versionNumber":1},{"jobId":"job-3","versionNumber":1}],` +
			`"IN_PROGRESS":[{"jobId":"job-1","versionNumber":2}]}}`,
			false, "2026-01-02T12:03:04Z notify       IN_PROGRESS job-1 (v2) · QUEUED job-2, job-3"},
		{notifyTopic, `{"timestamp":5,"jobs":{}}`, false, "2026-01-02T12:03:04Z notify       (nothing pending)"},
		{nextTopic, `{"timestamp":5,"execution":{"jobId":"job-2","status":"QUEUED","versionNumber":1,"jobDocument":{}}}`,
			false, "2026-01-02T12:03:04Z notify-next  job-2 QUEUED v1"},
		{nextTopic, `{"timestamp":5}`, false, "2026-01-02T12:03:04Z notify-next  (nothing pending)"},
		{"$aws/things/t1/jobs/get/accepted", `{"inProgressJobs":[],"queuedJobs":[{"jobId":"job-9","versionNumber":1}],"timestamp":5}`,
			true, "2026-01-02T12:03:04Z resync       QUEUED job-9"},
		{nextTopic, `garbage`, false, "2026-01-02T12:03:04Z notify-next  garbage"},
	}
	for _, tt := range tests {
		ios, _, out, _ := iostreams.Test()
		ios.SetTTY(true, false)
		n := Notification{Topic: tt.topic, Payload: []byte(tt.payload), At: at, Resync: tt.resync}
		if err := New(ios, Pretty).Notification(n); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want+"\n" {
			t.Errorf("%s\n got  %q\n want %q", tt.payload, out, tt.want)
		}
	}
}

func TestNotificationPrettyColour(t *testing.T) {
	p := &Printer{out: &strings.Builder{}, format: Pretty, color: true}
	line := string(p.notificationLine(Notification{Topic: nextTopic, At: at,
		Payload: []byte(`{"timestamp":5,"execution":{"jobId":"j","status":"IN_PROGRESS","versionNumber":2}}`)}))
	if !strings.Contains(line, "\x1b[33mIN_PROGRESS\x1b[0m") || !strings.Contains(line, "\x1b[1mnotify-next ") {
		t.Errorf("no colour: %q", line)
	}
}
