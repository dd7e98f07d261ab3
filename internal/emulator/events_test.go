package emulator_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// monitorPolicy lets any client connect, walk jobs and watch the Jobs
// events, as AWS's examples grant them: Subscribe on the topic filters,
// Receive on the topics.
const monitorPolicy = `{"Version": "2012-10-17", "Statement": [
	{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"},
	{"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"], "Resource": "arn:aws:iot:*:*:topic/$aws/things/*"},
	{"Effect": "Allow", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:*:*:topicfilter/$aws/events/*"},
	{"Effect": "Allow", "Action": "iot:Receive", "Resource": "arn:aws:iot:*:*:topic/$aws/events/*"}]}`

// TestJobsEventsEndToEnd: with Events on, a job created over the control
// plane and an execution a device reports SUCCEEDED over MQTT reach MQTT
// subscribers of the event topics as AWS documents them, in the embedded
// broker (with and without an IoT policy) and in attach mode.
func TestJobsEventsEndToEnd(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts func(t *testing.T) []testutil.Option
	}{
		{"embedded", func(*testing.T) []testutil.Option { return nil }},
		{"embedded with a policy", func(t *testing.T) []testutil.Option {
			path := t.TempDir() + "/monitor.json"
			testutil.WriteFile(t, path, monitorPolicy)
			return []testutil.Option{testutil.WithConfig(func(c *emulator.Config) { c.Policies = []string{path} })}
		}},
		{"attach", func(*testing.T) []testutil.Option { return []testutil.Option{testutil.WithMosquitto()} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := append(tt.opts(t), testutil.WithConfig(func(c *emulator.Config) { c.Events = true }))
			emu := testutil.StartEmulator(t, opts...)
			all := testutil.ConnectDevice(t, emu.Endpoint, "monitor-all")
			all.Subscribe("$aws/events/#")
			completed := testutil.ConnectDevice(t, emu.Endpoint, "monitor-completed")
			completed.Subscribe("$aws/events/job/+/completed")

			start := time.Now().Unix()
			createJob(t, emu, "job-1", `{"targets":["thing-1"],"document":"{\"operation\":\"reboot\"}","description":"reboot"}`)
			device := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
			device.Publish("$aws/things/thing-1/jobs/job-1/update", `{"status":"SUCCEEDED","statusDetails":{"result":"ok"}}`)

			got := map[string]map[string]any{}
			for len(got) < 2 {
				m := all.Next()
				got[m.Topic] = eventPayload(t, m, start)
			}
			wantEvent(t, got, "$aws/events/jobExecution/job-1/succeeded", map[string]any{
				"eventType": "JOB_EXECUTION", "eventId": "uuid", "timestamp": "s", "operation": "succeeded", "jobId": "job-1",
				"thingArn": "arn:aws:iot:us-east-1:123456789012:thing/thing-1", "status": "SUCCEEDED",
				"statusDetails": map[string]any{"result": "ok"},
			})
			wantEvent(t, got, "$aws/events/job/job-1/completed", map[string]any{
				"eventType": "JOB", "eventId": "uuid", "timestamp": "s", "operation": "completed", "jobId": "job-1", "status": "COMPLETED",
				"targetSelection": "SNAPSHOT", "targets": []any{"arn:aws:iot:us-east-1:123456789012:thing/thing-1"},
				"description": "reboot", "completedAt": "ms", "createdAt": "ms", "lastUpdatedAt": "ms",
				"jobProcessDetails": map[string]any{
					"numberOfCanceledThings": 0.0, "numberOfRejectedThings": 0.0, "numberOfFailedThings": 0.0,
					"numberOfRemovedThings": 0.0, "numberOfSucceededThings": 1.0, "numberOfTimedOutThings": 0.0,
				},
			})
			if m := completed.Next(); m.Topic != "$aws/events/job/job-1/completed" {
				t.Errorf("the subscriber of $aws/events/job/+/completed got %s", m.Topic)
			}
			completed.Quiet(200 * time.Millisecond)
		})
	}
}

// createJob calls CreateJob on the control plane.
func createJob(t *testing.T, emu *testutil.Emulator, jobID, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, emu.HTTPURL+"/jobs/"+jobID, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateJob %s: status %d", jobID, resp.StatusCode)
	}
}

// eventPayload decodes an event and checks what differs from run to run,
// then writes it as a placeholder: eventId, a UUID, as "uuid"; timestamp,
// in epoch seconds since start, as "s"; the job's times, in epoch
// milliseconds since start, as "ms".
func eventPayload(t *testing.T, m testutil.Received, start int64) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatalf("%s: %v: %s", m.Topic, err, m.Payload)
	}
	if id, _ := p["eventId"].(string); uuid.Validate(id) == nil {
		p["eventId"] = "uuid"
	}
	now := time.Now().Unix()
	since := func(member string, scale int64, placeholder string) {
		if n, ok := p[member].(float64); ok && int64(n) >= start*scale && int64(n) <= (now+1)*scale {
			p[member] = placeholder
		}
	}
	since("timestamp", 1, "s")
	for _, member := range []string{"createdAt", "lastUpdatedAt", "completedAt"} {
		since(member, 1000, "ms")
	}
	return p
}

func wantEvent(t *testing.T, got map[string]map[string]any, topic string, want map[string]any) {
	t.Helper()
	p, ok := got[topic]
	if !ok {
		t.Errorf("no event on %s; got %v", topic, slices.Collect(maps.Keys(got)))
		return
	}
	gotJSON, _ := json.Marshal(p)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("%s:\n got %s\nwant %s", topic, gotJSON, wantJSON)
	}
}
