package engine

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/iotjobs/iotjobs/internal/iotapi"
)

var eventIDMember = regexp.MustCompile(`"eventId":"([^"]*)"`)

// takeEvents waits until the events of every commit so far are rendered,
// then takes them, each event id checked to be a fresh random UUID and
// written as ID.
func (h *harness) takeEvents() []string {
	h.t.Helper()
	h.e.Drain()
	got := h.events.take()
	seen := map[string]bool{}
	for i, line := range got {
		m := eventIDMember.FindStringSubmatch(line)
		if m == nil {
			h.t.Fatalf("no eventId in %s", line)
		}
		if id, err := uuid.Parse(m[1]); err != nil || id.Version() != 4 || seen[m[1]] {
			h.t.Errorf("eventId %q is not a new version 4 UUID (%v)", m[1], err)
		}
		seen[m[1]] = true
		got[i] = eventIDMember.ReplaceAllString(line, `"eventId":"ID"`)
	}
	return got
}

// enableEvents sets the JOB and JOB_EXECUTION event types.
func (h *harness) enableEvents(job, execution bool) {
	h.t.Helper()
	err := h.e.UpdateEventConfigurations(iotapi.UpdateEventConfigurationsInput{EventConfigurations: map[string]iotapi.EventConfiguration{
		iotapi.EventTypeJob: {Enabled: job}, iotapi.EventTypeJobExecution: {Enabled: execution},
	}})
	if err != nil {
		h.t.Fatal(err)
	}
}

const (
	eventTS   = `"timestamp":1700000000`
	createdMs = `"createdAt":1700000000000`
	dev1ARN   = `"thingArn":"arn:aws:iot:us-east-1:123456789012:thing/dev1"`
	dev2ARN   = `"thingArn":"arn:aws:iot:us-east-1:123456789012:thing/dev2"`
	targets   = `"targetSelection":"SNAPSHOT","targets":["arn:aws:iot:us-east-1:123456789012:thing/dev1","arn:aws:iot:us-east-1:123456789012:thing/dev2"]`
)

// TestAWSEventsOff: nothing is published until UpdateEventConfigurations
// enables a type, and DescribeEventConfigurations lists both types, off.
func TestAWSEventsOff(t *testing.T) {
	h := newHarness(t)
	got, _ := json.Marshal(h.e.DescribeEventConfigurations())
	if want := `{"eventConfigurations":{"JOB":{"Enabled":false},"JOB_EXECUTION":{"Enabled":false}}}`; string(got) != want {
		t.Errorf("DescribeEventConfigurations: got %s, want %s", got, want)
	}
	h.createJob("J1", "dev1")
	h.pub("$aws/things/dev1/jobs/J1/update", `{"status":"SUCCEEDED"}`)
	equal(t, h.takeEvents(), nil)
	if h.e.EventsEnabled(iotapi.EventTypeJob) || h.e.EventsEnabled(iotapi.EventTypeJobExecution) {
		t.Error("events enabled on a new store")
	}
}

// TestAWSEventsPayloads: each terminal status, each deletion, a job
// completed, canceled and deleted, with the members of AWS's examples.
func TestAWSEventsPayloads(t *testing.T) {
	h := newHarness(t)
	h.enableEvents(true, true)
	if _, err := h.e.CreateJob(iotapi.CreateJobInput{JobID: "J1", Targets: []string{"dev1", "dev2"}, Document: `{}`, Description: "update <fw>"}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Second)
	h.pub("$aws/things/dev1/jobs/J1/update", `{"status":"SUCCEEDED","statusDetails":{"step":"done"}}`)
	equal(t, h.takeEvents(), []string{
		`$aws/events/jobExecution/J1/succeeded {"eventType":"JOB_EXECUTION","eventId":"ID","timestamp":1700000002,"operation":"succeeded","jobId":"J1",` +
			dev1ARN + `,"status":"SUCCEEDED","statusDetails":{"step":"done"}}`,
	})
	h.pub("$aws/things/dev2/jobs/J1/update", `{"status":"REJECTED"}`)
	equal(t, h.takeEvents(), []string{
		`$aws/events/jobExecution/J1/rejected {"eventType":"JOB_EXECUTION","eventId":"ID","timestamp":1700000002,"operation":"rejected","jobId":"J1",` +
			dev2ARN + `,"status":"REJECTED"}`,
		`$aws/events/job/J1/completed {"eventType":"JOB","eventId":"ID","timestamp":1700000002,"operation":"completed","jobId":"J1","status":"COMPLETED",` +
			targets + `,"description":"update <fw>","completedAt":1700000002000,` + createdMs + `,"lastUpdatedAt":1700000002000,` +
			`"jobProcessDetails":{"numberOfCanceledThings":0,"numberOfRejectedThings":1,"numberOfFailedThings":0,"numberOfRemovedThings":0,"numberOfSucceededThings":1,"numberOfTimedOutThings":0}}`,
	})

	// A deleted execution keeps the status it had.
	if err := h.e.DeleteJobExecution(iotapi.DeleteJobExecutionInput{JobID: "J1", ThingName: "dev2", ExecutionNumber: 1}); err != nil {
		t.Fatal(err)
	}
	equal(t, h.takeEvents(), []string{
		`$aws/events/jobExecution/J1/deleted {"eventType":"JOB_EXECUTION","eventId":"ID","timestamp":1700000002,"operation":"deleted","jobId":"J1",` +
			dev2ARN + `,"status":"REJECTED"}`,
	})

	// Timed out and failed; a start is no event.
	if _, err := h.e.CreateJob(iotapi.CreateJobInput{JobID: "J2", Targets: []string{"dev1", "dev2"}, Document: `{}`}); err != nil {
		t.Fatal(err)
	}
	h.pub("$aws/things/dev1/jobs/J2/update", `{"status":"IN_PROGRESS","stepTimeoutInMinutes":1}`)
	equal(t, h.takeEvents(), nil)
	h.clock.Advance(time.Minute)
	h.pub("$aws/things/dev2/jobs/J2/update", `{"status":"FAILED"}`)
	equal(t, h.takeEvents(), []string{
		`$aws/events/jobExecution/J2/timed_out {"eventType":"JOB_EXECUTION","eventId":"ID","timestamp":1700000062,"operation":"timed_out","jobId":"J2",` +
			dev1ARN + `,"status":"TIMED_OUT"}`,
		`$aws/events/jobExecution/J2/failed {"eventType":"JOB_EXECUTION","eventId":"ID","timestamp":1700000062,"operation":"failed","jobId":"J2",` +
			dev2ARN + `,"status":"FAILED"}`,
		`$aws/events/job/J2/completed {"eventType":"JOB","eventId":"ID","timestamp":1700000062,"operation":"completed","jobId":"J2","status":"COMPLETED",` +
			targets + `,"completedAt":1700000062000,"createdAt":1700000002000,"lastUpdatedAt":1700000062000,` +
			`"jobProcessDetails":{"numberOfCanceledThings":0,"numberOfRejectedThings":0,"numberOfFailedThings":1,"numberOfRemovedThings":0,"numberOfSucceededThings":0,"numberOfTimedOutThings":1}}`,
	})

	// A cancel: its start, the executions it cancels, its end.
	if _, err := h.e.CreateJob(iotapi.CreateJobInput{JobID: "J3", Targets: []string{"dev1", "dev2"}, Document: `{}`}); err != nil {
		t.Fatal(err)
	}
	h.pub("$aws/things/dev1/jobs/J3/update", `{"status":"IN_PROGRESS"}`)
	if _, err := h.e.CancelJob(iotapi.CancelJobInput{JobID: "J3", Comment: "bad build"}); err != nil {
		t.Fatal(err)
	}
	const j3 = targets + `,"createdAt":1700000062000,"lastUpdatedAt":1700000062000,"comment":"bad build"`
	equal(t, h.takeEvents(), []string{
		`$aws/events/job/J3/cancellation_in_progress {"eventType":"JOB","eventId":"ID","timestamp":1700000062,"operation":"cancellation_in_progress","jobId":"J3","status":"CANCELLATION_IN_PROGRESS",` + j3 + `}`,
		`$aws/events/jobExecution/J3/canceled {"eventType":"JOB_EXECUTION","eventId":"ID","timestamp":1700000062,"operation":"canceled","jobId":"J3",` +
			dev2ARN + `,"status":"CANCELED"}`,
		`$aws/events/job/J3/canceled {"eventType":"JOB","eventId":"ID","timestamp":1700000062,"operation":"canceled","jobId":"J3","status":"CANCELED","forceCanceled":false,` + j3 +
			`,"jobProcessDetails":{"numberOfCanceledThings":1,"numberOfRejectedThings":0,"numberOfFailedThings":0,"numberOfRemovedThings":0,"numberOfSucceededThings":0,"numberOfTimedOutThings":0}}`,
	})

	// A forced delete: its start, every execution deleted (the one still
	// IN_PROGRESS too, with that status), its end.
	if err := h.e.DeleteJob(iotapi.DeleteJobInput{JobID: "J3", Force: true}); err != nil {
		t.Fatal(err)
	}
	equal(t, h.takeEvents(), []string{
		`$aws/events/job/J3/deletion_in_progress {"eventType":"JOB","eventId":"ID","timestamp":1700000062,"operation":"deletion_in_progress","jobId":"J3","status":"DELETION_IN_PROGRESS",` + j3 + `}`,
		`$aws/events/jobExecution/J3/deleted {"eventType":"JOB_EXECUTION","eventId":"ID","timestamp":1700000062,"operation":"deleted","jobId":"J3",` +
			dev1ARN + `,"status":"IN_PROGRESS"}`,
		`$aws/events/jobExecution/J3/deleted {"eventType":"JOB_EXECUTION","eventId":"ID","timestamp":1700000062,"operation":"deleted","jobId":"J3",` +
			dev2ARN + `,"status":"CANCELED"}`,
		`$aws/events/job/J3/deleted {"eventType":"JOB","eventId":"ID","timestamp":1700000062,"operation":"deleted","jobId":"J3","status":"DELETED",` + j3 + `}`,
	})
}

// TestAWSEventsPerType: each type is published only while enabled; the
// configuration survives a restart, with its dates.
func TestAWSEventsPerType(t *testing.T) {
	h := newHarness(t)
	h.enableEvents(false, true)
	h.createJob("J1", "dev1")
	h.pub("$aws/things/dev1/jobs/J1/update", `{"status":"SUCCEEDED"}`)
	equal(t, h.takeEvents(), []string{
		`$aws/events/jobExecution/J1/succeeded {"eventType":"JOB_EXECUTION","eventId":"ID",` + eventTS + `,"operation":"succeeded","jobId":"J1",` + dev1ARN + `,"status":"SUCCEEDED"}`,
	})

	h.clock.Advance(time.Second)
	h.enableEvents(true, false)
	h.reopen()
	if !h.e.EventsEnabled(iotapi.EventTypeJob) || h.e.EventsEnabled(iotapi.EventTypeJobExecution) {
		t.Fatal("the event configuration did not survive the restart")
	}
	got, _ := json.Marshal(h.e.DescribeEventConfigurations())
	if want := `{"eventConfigurations":{"JOB":{"Enabled":true},"JOB_EXECUTION":{"Enabled":false}},"creationDate":1700000000,"lastModifiedDate":1700000001}`; string(got) != want {
		t.Errorf("DescribeEventConfigurations: got %s, want %s", got, want)
	}
	h.createJob("J2", "dev1")
	h.pub("$aws/things/dev1/jobs/J2/update", `{"status":"SUCCEEDED"}`)
	equal(t, h.takeEvents(), []string{
		`$aws/events/job/J2/completed {"eventType":"JOB","eventId":"ID","timestamp":1700000001,"operation":"completed","jobId":"J2","status":"COMPLETED",` +
			`"targetSelection":"SNAPSHOT","targets":["arn:aws:iot:us-east-1:123456789012:thing/dev1"],"completedAt":1700000001000,"createdAt":1700000001000,"lastUpdatedAt":1700000001000,` +
			`"jobProcessDetails":{"numberOfCanceledThings":0,"numberOfRejectedThings":0,"numberOfFailedThings":0,"numberOfRemovedThings":0,"numberOfSucceededThings":1,"numberOfTimedOutThings":0}}`,
	})

	h.enableEvents(false, false)
	h.createJob("J3", "dev1")
	h.pub("$aws/things/dev1/jobs/J3/update", `{"status":"SUCCEEDED"}`)
	equal(t, h.takeEvents(), nil)
}
