package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/clock"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

func newClock() *clock.Fake { return clock.NewFake(time.Unix(1700000000, 0)) }

// notifications records what the engine publishes through Notify.
type notifications struct {
	mu   sync.Mutex
	msgs []Message
}

func (n *notifications) add(m Message) {
	n.mu.Lock()
	n.msgs = append(n.msgs, m)
	n.mu.Unlock()
}

// take returns the notifications so far and forgets them.
func (n *notifications) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.msgs {
		out = append(out, m.Topic+" "+string(m.Payload))
	}
	n.msgs = nil
	return out
}

type harness struct {
	t      *testing.T
	e      *Engine
	clock  *clock.Fake
	notes  *notifications
	events *notifications // the Jobs events ($aws/events/...)
	path   string
	minute time.Duration
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return openHarness(t, filepath.Join(t.TempDir(), "jobs.db"), newClock(), 0)
}

func openHarness(t *testing.T, path string, c *clock.Fake, minute time.Duration) *harness {
	t.Helper()
	h := &harness{t: t, clock: c, notes: &notifications{}, events: &notifications{}, path: path, minute: minute}
	e, err := Open(Options{DataPath: path, Minute: minute, Clock: c, Notify: h.notes.add, Events: h.events.add})
	if err != nil {
		t.Fatal(err)
	}
	e.Start()
	h.e = e
	t.Cleanup(func() { e.Close() })
	return h
}

// takeNotes waits until the notifications of every commit so far are
// rendered, then takes them.
func (h *harness) takeNotes() []string {
	h.e.Drain()
	return h.notes.take()
}

// reopen closes the engine and opens the same store again.
func (h *harness) reopen() {
	h.t.Helper()
	if err := h.e.Close(); err != nil {
		h.t.Fatal(err)
	}
	*h = *openHarness(h.t, h.path, h.clock, h.minute)
}

// pub publishes payload on topic and returns "replyTopic payload".
func (h *harness) pub(topic, payload string) string {
	h.t.Helper()
	reply, ok := h.e.HandlePublish(context.Background(), NewRequest("test-client", topic, []byte(payload)))
	if !ok {
		h.t.Fatalf("HandlePublish(%s) ignored the request", topic)
	}
	return reply.Topic + " " + string(reply.Payload)
}

func (h *harness) createJob(id string, things ...string) {
	h.t.Helper()
	if _, err := h.e.CreateJob(iotapi.CreateJobInput{JobID: id, Targets: things, Document: `{"op":"` + id + `"}`}); err != nil {
		h.t.Fatal(err)
	}
}

// rejection decodes a rejected reply.
func rejection(t *testing.T, reply string) jobs.ErrorResponse {
	t.Helper()
	topic, body, _ := strings.Cut(reply, " ")
	if !strings.HasSuffix(topic, "/rejected") {
		t.Fatalf("want a rejection, got %s", reply)
	}
	var r jobs.ErrorResponse
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

const (
	ts       = `"timestamp":1700000000`
	thing    = "$aws/things/dev1/jobs/"
	notify   = "$aws/things/dev1/jobs/notify "
	nextNote = "$aws/things/dev1/jobs/notify-next "
)

// The walk of the live transcript: create, start-next, succeed. Exactly two
// notify and two notify-next messages, none for the start.
func TestWalkCreateStartSucceed(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1")
	equal(t, h.takeNotes(), []string{
		notify + `{` + ts + `,"jobs":{"QUEUED":[{"jobId":"J1","queuedAt":1700000000,"lastUpdatedAt":1700000000,"versionNumber":1,"executionNumber":1}]}}`,
		nextNote + `{` + ts + `,"execution":{"jobId":"J1","status":"QUEUED","queuedAt":1700000000,"lastUpdatedAt":1700000000,"versionNumber":1,"executionNumber":1,"jobDocument":{"op":"J1"}}}`,
	})

	got := h.pub(thing+"get", `{"clientToken":"c1"}`)
	want := thing + `get/accepted {"inProgressJobs":[],"queuedJobs":[{"jobId":"J1","queuedAt":1700000000,"lastUpdatedAt":1700000000,"versionNumber":1,"executionNumber":1}],` + ts + `,"clientToken":"c1"}`
	equal(t, []string{got}, []string{want})

	h.clock.Advance(2 * time.Second)
	got = h.pub(thing+"start-next", `{"clientToken":"c2"}`)
	want = thing + `start-next/accepted {"execution":{"jobId":"J1","status":"IN_PROGRESS","queuedAt":1700000000,"startedAt":1700000002,"lastUpdatedAt":1700000002,"versionNumber":2,"executionNumber":1,"jobDocument":{"op":"J1"}},"timestamp":1700000002,"clientToken":"c2"}`
	equal(t, []string{got}, []string{want})
	equal(t, h.takeNotes(), nil)

	got = h.pub(thing+"J1/update", `{"status":"SUCCEEDED","clientToken":"c3"}`)
	want = thing + `J1/update/accepted {"timestamp":1700000002,"clientToken":"c3"}`
	equal(t, []string{got}, []string{want})
	equal(t, h.takeNotes(), []string{
		notify + `{"timestamp":1700000002,"jobs":{}}`,
		nextNote + `{"timestamp":1700000002}`,
	})

	got = h.pub(thing+"get", ``)
	equal(t, []string{got}, []string{thing + `get/accepted {"inProgressJobs":[],"queuedJobs":[],"timestamp":1700000002}`})
	got = h.pub(thing+"start-next", `{"clientToken":"c4"}`)
	equal(t, []string{got}, []string{thing + `start-next/accepted {"timestamp":1700000002,"clientToken":"c4"}`})
	got = h.pub(thing+"$next/get", `{"clientToken":"c5"}`)
	equal(t, []string{got}, []string{thing + `$next/get/accepted {"timestamp":1700000002,"clientToken":"c5"}`})
}

func TestNotifyRules(t *testing.T) {
	t.Run("second job gives notify only", func(t *testing.T) {
		h := newHarness(t)
		h.createJob("J1", "dev1")
		h.takeNotes()
		h.createJob("J2", "dev1")
		got := h.takeNotes()
		if len(got) != 1 || !strings.HasPrefix(got[0], notify) || !strings.Contains(got[0], `"jobId":"J2"`) {
			t.Fatalf("want one notify listing J2, got %q", got)
		}
	})
	t.Run("starting J2 while J1 is queued changes the head", func(t *testing.T) {
		h := newHarness(t)
		h.createJob("J1", "dev1")
		h.createJob("J2", "dev1")
		h.takeNotes()
		h.pub(thing+"J2/update", `{"status":"IN_PROGRESS"}`)
		got := h.takeNotes()
		if len(got) != 1 || !strings.HasPrefix(got[0], nextNote) || !strings.Contains(got[0], `"jobId":"J2","status":"IN_PROGRESS"`) {
			t.Fatalf("want one notify-next with J2 IN_PROGRESS, got %q", got)
		}
		// An update of the head that changes only its details announces nothing.
		h.pub(thing+"J2/update", `{"status":"IN_PROGRESS","statusDetails":{"step":"2"}}`)
		equal(t, h.takeNotes(), nil)
	})
	t.Run("terminal update of a non-head execution gives notify only", func(t *testing.T) {
		h := newHarness(t)
		h.createJob("J1", "dev1")
		h.createJob("J2", "dev1")
		h.takeNotes()
		h.pub(thing+"J2/update", `{"status":"REJECTED"}`)
		got := h.takeNotes()
		if len(got) != 1 || !strings.HasPrefix(got[0], notify) || strings.Contains(got[0], "J2") {
			t.Fatalf("want one notify without J2, got %q", got)
		}
	})
	t.Run("cancel and delete", func(t *testing.T) {
		h := newHarness(t)
		h.createJob("J1", "dev1", "dev2")
		h.createJob("J2", "dev1")
		h.takeNotes()
		if _, err := h.e.CancelJob(iotapi.CancelJobInput{JobID: "J1"}); err != nil {
			t.Fatal(err)
		}
		equal(t, h.takeNotes(), []string{
			notify + `{` + ts + `,"jobs":{"QUEUED":[{"jobId":"J2","queuedAt":1700000000,"lastUpdatedAt":1700000000,"versionNumber":1,"executionNumber":1}]}}`,
			nextNote + `{` + ts + `,"execution":{"jobId":"J2","status":"QUEUED","queuedAt":1700000000,"lastUpdatedAt":1700000000,"versionNumber":1,"executionNumber":1,"jobDocument":{"op":"J2"}}}`,
			`$aws/things/dev2/jobs/notify {` + ts + `,"jobs":{}}`,
			`$aws/things/dev2/jobs/notify-next {` + ts + `}`,
		})
		if err := h.e.DeleteJob(iotapi.DeleteJobInput{JobID: "J2", Force: true}); err != nil {
			t.Fatal(err)
		}
		equal(t, h.takeNotes(), []string{notify + `{` + ts + `,"jobs":{}}`, nextNote + `{` + ts + `}`})
		// Deleting a job whose executions are all terminal announces nothing.
		if err := h.e.DeleteJob(iotapi.DeleteJobInput{JobID: "J1", Force: false}); err != nil {
			t.Fatal(err)
		}
		equal(t, h.takeNotes(), nil)
	})
}

func TestQueueOrderAndCap(t *testing.T) {
	h := newHarness(t)
	for i := 1; i <= 12; i++ {
		h.clock.Advance(time.Second)
		h.createJob("J"+string(rune('A'-1+i)), "dev1")
	}
	h.pub(thing+"JC/update", `{"status":"IN_PROGRESS"}`)
	h.pub(thing+"JE/update", `{"status":"IN_PROGRESS"}`)
	var resp jobs.GetPendingResponse
	_, body, _ := strings.Cut(h.pub(thing+"get", ``), " ")
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	ids := func(s []jobs.JobExecutionSummary) (out []string) {
		for _, x := range s {
			out = append(out, x.JobID)
		}
		return out
	}
	equal(t, ids(resp.InProgressJobs), []string{"JC", "JE"})
	equal(t, ids(resp.QueuedJobs), []string{"JA", "JB", "JD", "JF", "JG", "JH", "JI", "JJ"})
	// queuedAt decides before creation order: a job created later with an
	// earlier clock reading queues first.
	h.clock.Advance(-time.Hour)
	h.createJob("early", "dev1")
	_, body, _ = strings.Cut(h.pub(thing+"get", ``), " ")
	if !strings.Contains(body, `"queuedJobs":[{"jobId":"early"`) {
		t.Errorf("want early at the head of the queued jobs, got %s", body)
	}
	// Executions queued at the same instant go by job creation order.
	h2 := newHarness(t)
	for _, id := range []string{"Z", "A", "M"} {
		h2.createJob(id, "dev1")
	}
	_, body, _ = strings.Cut(h2.pub(thing+"$next/get", `{"includeJobDocument":false}`), " ")
	if !strings.Contains(body, `"jobId":"Z"`) || strings.Contains(body, "jobDocument") {
		t.Errorf("want Z without its document first, got %s", body)
	}
}

func TestVersionsAndDetails(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1")
	steps := []struct{ payload, want string }{
		{`{"status":"IN_PROGRESS","includeJobExecutionState":true}`, `{"executionState":{"status":"IN_PROGRESS","versionNumber":2},` + ts + `}`},
		{`{"status":"IN_PROGRESS","statusDetails":{"a":"1","b":"2"},"includeJobExecutionState":true}`, `{"executionState":{"status":"IN_PROGRESS","statusDetails":{"a":"1","b":"2"},"versionNumber":3},` + ts + `}`},
		// Omitted details stay; given details replace the stored ones as a whole.
		{`{"status":"IN_PROGRESS","expectedVersion":3,"includeJobExecutionState":true}`, `{"executionState":{"status":"IN_PROGRESS","statusDetails":{"a":"1","b":"2"},"versionNumber":4},` + ts + `}`},
		{`{"status":"IN_PROGRESS","statusDetails":{"c":"3"},"expectedVersion":"4","includeJobExecutionState":true,"includeJobDocument":true}`, `{"executionState":{"status":"IN_PROGRESS","statusDetails":{"c":"3"},"versionNumber":5},"jobDocument":{"op":"J1"},` + ts + `}`},
		{`{"status":"SUCCEEDED","includeJobDocument":true}`, `{"jobDocument":{"op":"J1"},` + ts + `}`},
	}
	for _, s := range steps {
		equal(t, []string{h.pub(thing+"J1/update", s.payload)}, []string{thing + "J1/update/accepted " + s.want})
	}
	x, err := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1"})
	if err != nil {
		t.Fatal(err)
	}
	if x.VersionNumber != 6 || x.Status != jobs.StatusSucceeded || x.StartedAt.IsZero() {
		t.Errorf("got %+v", x)
	}
}

func TestRejections(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1")
	h.createJob("done", "dev1")
	h.pub(thing+"done/update", `{"status":"FAILED"}`)
	state := func(status string, version int) *jobs.JobExecutionState {
		return &jobs.JobExecutionState{Status: jobs.Status(status), VersionNumber: int64(version)}
	}
	tests := []struct {
		name, topic, payload string
		code                 jobs.ErrorCode
		state                *jobs.JobExecutionState
	}{
		{"not JSON", "get", `{"clientToken":`, jobs.CodeInvalidJSON, nil},
		{"not an object", "start-next", `[1]`, jobs.CodeInvalidJSON, nil},
		{"not UTF-8", "J1/get", "{\"clientToken\":\"\xff\"}", jobs.CodeInvalidJSON, nil},
		{"missing status", "J1/update", `{"clientToken":"t"}`, jobs.CodeInvalidRequest, nil},
		{"no such status", "J1/update", `{"status":"DONE"}`, jobs.CodeInvalidRequest, nil},
		{"status of wrong type", "J1/update", `{"status":1}`, jobs.CodeInvalidRequest, nil},
		{"step timeout 0", "start-next", `{"stepTimeoutInMinutes":0}`, jobs.CodeInvalidRequest, nil},
		{"step timeout -1 on start-next", "start-next", `{"stepTimeoutInMinutes":-1}`, jobs.CodeInvalidRequest, nil},
		{"step timeout too long", "J1/update", `{"status":"IN_PROGRESS","stepTimeoutInMinutes":10081}`, jobs.CodeInvalidRequest, nil},
		{"11 details", "J1/update", `{"status":"IN_PROGRESS","statusDetails":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1","j":"1","k":"1"}}`, jobs.CodeInvalidRequest, nil},
		{"bad detail key", "start-next", `{"statusDetails":{"a b":"1"}}`, jobs.CodeInvalidRequest, nil},
		{"expectedVersion not a number", "J1/update", `{"status":"IN_PROGRESS","expectedVersion":"x"}`, jobs.CodeInvalidRequest, nil},
		{"executionNumber 0", "J1/get", `{"executionNumber":0}`, jobs.CodeInvalidRequest, nil},
		{"device asks QUEUED", "J1/update", `{"status":"QUEUED"}`, jobs.CodeInvalidStateTransition, state("QUEUED", 1)},
		{"device asks CANCELED", "J1/update", `{"status":"CANCELED"}`, jobs.CodeInvalidStateTransition, state("QUEUED", 1)},
		{"device asks TIMED_OUT", "J1/update", `{"status":"TIMED_OUT"}`, jobs.CodeInvalidStateTransition, state("QUEUED", 1)},
		{"device asks REMOVED", "J1/update", `{"status":"REMOVED"}`, jobs.CodeInvalidStateTransition, state("QUEUED", 1)},
		{"update of terminal", "done/update", `{"status":"IN_PROGRESS"}`, jobs.CodeInvalidStateTransition, state("FAILED", 2)},
		{"version mismatch (number)", "J1/update", `{"status":"IN_PROGRESS","expectedVersion":7}`, jobs.CodeVersionMismatch, state("QUEUED", 1)},
		{"version mismatch (string)", "J1/update", `{"status":"IN_PROGRESS","expectedVersion":"0"}`, jobs.CodeVersionMismatch, state("QUEUED", 1)},
		{"version checked before transition", "done/update", `{"status":"SUCCEEDED","expectedVersion":1}`, jobs.CodeVersionMismatch, state("FAILED", 2)},
		{"describe unknown job", "nope/get", `{}`, jobs.CodeResourceNotFound, nil},
		{"update unknown job", "nope/update", `{"status":"SUCCEEDED"}`, jobs.CodeResourceNotFound, nil},
		{"describe other executionNumber", "J1/get", `{"executionNumber":2}`, jobs.CodeResourceNotFound, nil},
		{"update other executionNumber", "J1/update", `{"status":"SUCCEEDED","executionNumber":2}`, jobs.CodeResourceNotFound, nil},
		{"describe terminal", "done/get", `{}`, jobs.CodeTerminalStateReached, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := h.pub(thing+tt.topic, tt.payload)
			if !strings.HasPrefix(reply, thing+tt.topic+"/rejected ") {
				t.Fatalf("got %s", reply)
			}
			r := rejection(t, reply)
			if r.Code != tt.code || r.Message == "" || r.Timestamp != 1700000000 {
				t.Errorf("got %s, want code %s", reply, tt.code)
			}
			if tt.state == nil && r.ExecutionState != nil || tt.state != nil && (r.ExecutionState == nil || !reflect.DeepEqual(r.ExecutionState, tt.state)) {
				t.Errorf("executionState: got %s, want %+v", reply, tt.state)
			}
		})
	}
	// An unknown thing has nothing: not found by id, nothing next.
	r := rejection(t, h.pub("$aws/things/ghost/jobs/J1/update", `{"status":"SUCCEEDED","clientToken":"g"}`))
	if r.Code != jobs.CodeResourceNotFound || r.ClientToken != "g" {
		t.Errorf("got %+v", r)
	}
	// Nothing changed: the rejected requests did not touch the execution.
	equal(t, []string{h.pub(thing+"J1/get", `{"includeJobDocument":false}`)}, []string{
		thing + `J1/get/accepted {"execution":{"jobId":"J1","status":"QUEUED","queuedAt":1700000000,"lastUpdatedAt":1700000000,"versionNumber":1,"executionNumber":1},` + ts + `}`,
	})
	// The exact bytes of a rejection that carries executionState.
	equal(t, []string{h.pub(thing+"J1/update", `{"status":"QUEUED","clientToken":"q"}`)}, []string{
		thing + `J1/update/rejected {"code":"InvalidStateTransition","message":"A device cannot set status QUEUED; it may set IN_PROGRESS, SUCCEEDED, FAILED or REJECTED","clientToken":"q",` + ts + `,"executionState":{"status":"QUEUED","versionNumber":1}}`,
	})
}

func TestTopics(t *testing.T) {
	h := newHarness(t)
	invalid := []string{
		"$aws/things/dev1/jobs",
		"$aws/things/dev1/jobs/foo",
		"$aws/things/dev1/jobs/J1/foo",
		"$aws/things/dev1/jobs/$next/update",
		"$aws/things/dev1/jobs/a/b/c",
		"$aws/things/bad.name/jobs/get",
	}
	for _, topic := range invalid {
		reply := h.pub(topic, `{"clientToken":"tok"}`)
		want := topic + `/rejected {"code":"InvalidTopic","message":"The topic ` + topic + ` does not map to any Jobs API","clientToken":"tok",` + ts + `}`
		equal(t, []string{reply}, []string{want})
	}
	ignored := []string{
		"$aws/things/dev1/jobs/get/accepted",
		"$aws/things/dev1/jobs/J1/update/rejected",
		"$aws/things/dev1/jobs/foo/rejected",
		"$aws/things/dev1/jobs/notify",
		"$aws/things/dev1/jobs/notify-next",
		"$aws/things/dev1/shadow/get",
		"devices/dev1/jobs/get",
	}
	for _, topic := range ignored {
		if reply, ok := h.e.HandlePublish(context.Background(), NewRequest("test-client", topic, []byte(`{}`))); ok {
			t.Errorf("%s answered with %s", topic, reply.Topic)
		}
	}
}

func TestStartNextKeepsInProgressHead(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1")
	h.pub(thing+"start-next", `{"statusDetails":{"s":"1"}}`)
	first := h.pub(thing+"start-next", `{"statusDetails":{"s":"2"},"stepTimeoutInMinutes":5}`)
	if !strings.Contains(first, `"statusDetails":{"s":"1"}`) || !strings.Contains(first, `"versionNumber":2`) {
		t.Errorf("the IN_PROGRESS head changed: %s", first)
	}
	x, _ := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1"})
	if x.ApproximateSecondsBeforeTimedOut != 0 {
		t.Errorf("start-next of an IN_PROGRESS head armed a step timer: %+v", x)
	}
}

// statusOf is the status of the thing's execution of the job.
func statusOf(t *testing.T, e *Engine, jobID, thing string) iotapi.JobExecution {
	t.Helper()
	x, err := e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: jobID, ThingName: thing})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// The timer tests move the fake clock: a timer due runs inside Advance.
func TestTimers(t *testing.T) {
	const minute = time.Minute
	t.Run("step timer times out with notifications", func(t *testing.T) {
		h := openHarness(t, filepath.Join(t.TempDir(), "db"), newClock(), minute)
		h.createJob("J1", "dev1")
		h.takeNotes()
		h.pub(thing+"start-next", `{"stepTimeoutInMinutes":1}`)
		h.clock.Advance(minute - time.Nanosecond)
		if x := statusOf(t, h.e, "J1", "dev1"); x.Status != jobs.StatusInProgress {
			t.Fatalf("timed out early: %+v", x)
		}
		h.clock.Advance(time.Nanosecond)
		equal(t, h.takeNotes(), []string{notify + `{"timestamp":1700000060,"jobs":{}}`, nextNote + `{"timestamp":1700000060}`})
		x := statusOf(t, h.e, "J1", "dev1")
		if x.Status != jobs.StatusTimedOut || x.VersionNumber != 2 {
			t.Errorf("want TIMED_OUT at version 2 (a timeout is no device update): %+v", x)
		}
		r := rejection(t, h.pub(thing+"J1/update", `{"status":"SUCCEEDED"}`))
		if r.Code != jobs.CodeInvalidStateTransition || r.ExecutionState.Status != jobs.StatusTimedOut {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("-1 cancels the step timer", func(t *testing.T) {
		h := openHarness(t, filepath.Join(t.TempDir(), "db"), newClock(), minute)
		h.createJob("J1", "dev1")
		h.pub(thing+"J1/update", `{"status":"IN_PROGRESS","stepTimeoutInMinutes":1}`)
		h.pub(thing+"J1/update", `{"status":"IN_PROGRESS","stepTimeoutInMinutes":-1}`)
		h.clock.Advance(24 * time.Hour)
		if x := statusOf(t, h.e, "J1", "dev1"); x.Status != jobs.StatusInProgress || x.ApproximateSecondsBeforeTimedOut != 0 {
			t.Errorf("got %+v", x)
		}
	})
	t.Run("a new step timeout replaces the previous one", func(t *testing.T) {
		h := openHarness(t, filepath.Join(t.TempDir(), "db"), newClock(), minute)
		h.createJob("J1", "dev1")
		h.pub(thing+"J1/update", `{"status":"IN_PROGRESS","stepTimeoutInMinutes":1}`)
		h.pub(thing+"J1/update", `{"status":"IN_PROGRESS","stepTimeoutInMinutes":500}`)
		h.clock.Advance(5 * minute)
		x := statusOf(t, h.e, "J1", "dev1")
		if x.Status != jobs.StatusInProgress || x.ApproximateSecondsBeforeTimedOut != 495*60 {
			t.Errorf("want IN_PROGRESS, %d s left: %+v", 495*60, x)
		}
		h.clock.Advance(495 * minute)
		if x := statusOf(t, h.e, "J1", "dev1"); x.Status != jobs.StatusTimedOut {
			t.Errorf("after 500 minutes: %+v", x)
		}
	})
	t.Run("the in-progress timer caps the step timer", func(t *testing.T) {
		h := openHarness(t, filepath.Join(t.TempDir(), "db"), newClock(), minute)
		if _, err := h.e.CreateJob(iotapi.CreateJobInput{JobID: "J1", Targets: []string{"dev1"}, Document: `{}`, TimeoutConfig: &iotapi.TimeoutConfig{InProgressTimeoutInMinutes: new(int64(2))}}); err != nil {
			t.Fatal(err)
		}
		h.pub(thing+"start-next", `{"stepTimeoutInMinutes":10080}`)
		if x := statusOf(t, h.e, "J1", "dev1"); x.ApproximateSecondsBeforeTimedOut != 120 {
			t.Errorf("approximateSecondsBeforeTimedOut = %d, want 120", x.ApproximateSecondsBeforeTimedOut)
		}
		h.clock.Advance(2 * minute)
		if x := statusOf(t, h.e, "J1", "dev1"); x.Status != jobs.StatusTimedOut {
			t.Errorf("after 2 minutes: %+v", x)
		}
		j, _ := h.e.DescribeJob("J1")
		if j.Status != iotapi.JobCompleted || j.JobProcessDetails.NumberOfTimedOutThings != 1 {
			t.Errorf("got %+v", j)
		}
	})
	t.Run("a terminal status stops the timers", func(t *testing.T) {
		h := openHarness(t, filepath.Join(t.TempDir(), "db"), newClock(), minute)
		h.createJob("J1", "dev1")
		h.pub(thing+"start-next", `{"stepTimeoutInMinutes":1}`)
		h.pub(thing+"J1/update", `{"status":"SUCCEEDED"}`)
		if n := h.clock.Pending(); n != 0 {
			t.Errorf("%d timers still armed", n)
		}
		h.clock.Advance(5 * minute)
		if x := statusOf(t, h.e, "J1", "dev1"); x.Status != jobs.StatusSucceeded {
			t.Errorf("got %+v", x)
		}
	})
	t.Run("an emulated minute of one second", func(t *testing.T) {
		h := openHarness(t, filepath.Join(t.TempDir(), "db"), newClock(), time.Second)
		h.createJob("J1", "dev1")
		h.pub(thing+"start-next", `{"stepTimeoutInMinutes":3}`)
		if x := statusOf(t, h.e, "J1", "dev1"); x.ApproximateSecondsBeforeTimedOut != 180 {
			t.Errorf("approximateSecondsBeforeTimedOut counts emulated seconds: %d, want 180", x.ApproximateSecondsBeforeTimedOut)
		}
		h.clock.Advance(3 * time.Second)
		if x := statusOf(t, h.e, "J1", "dev1"); x.Status != jobs.StatusTimedOut {
			t.Errorf("after 3 s: %+v", x)
		}
	})
}

func TestRestartKeepsEverything(t *testing.T) {
	h := openHarness(t, filepath.Join(t.TempDir(), "jobs.db"), newClock(), time.Hour)
	h.createJob("J1", "dev1", "dev2")
	h.createJob("J2", "dev1")
	if _, err := h.e.CreateJob(iotapi.CreateJobInput{JobID: "J3", Targets: []string{"dev3"}, Document: `{}`, TimeoutConfig: &iotapi.TimeoutConfig{InProgressTimeoutInMinutes: new(int64(1))}}); err != nil {
		t.Fatal(err)
	}
	h.pub(thing+"start-next", `{"statusDetails":{"p":"10"},"stepTimeoutInMinutes":30}`)
	h.pub("$aws/things/dev2/jobs/J1/update", `{"status":"SUCCEEDED"}`)
	h.pub("$aws/things/dev3/jobs/start-next", `{}`)
	before := []string{h.pub(thing+"get", ``), h.pub(thing+"J1/get", ``), h.pub(thing+"J2/get", ``), h.pub("$aws/things/dev2/jobs/J2/get", ``)}
	beforeJob, _ := h.e.DescribeJob("J1")

	// Down for two emulated minutes: J3's in-progress timer (one minute)
	// expires meanwhile, dev1's step timer (30 minutes) does not.
	if err := h.e.Close(); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(2 * time.Hour)
	var opened *harness
	func() {
		c := h.clock
		opened = &harness{t: t, clock: c, notes: &notifications{}, path: h.path, minute: time.Hour}
		e, err := Open(Options{DataPath: h.path, Minute: time.Hour, Clock: c, Notify: opened.notes.add})
		if err != nil {
			t.Fatal(err)
		}
		opened.e = e
		t.Cleanup(func() { e.Close() })
	}()
	// Before Start nothing fires and the state is as it was.
	after := []string{opened.pub(thing+"get", ``), opened.pub(thing+"J1/get", ``), opened.pub(thing+"J2/get", ``), opened.pub("$aws/things/dev2/jobs/J2/get", ``)}
	for i := range before {
		b, a := strings.Replace(before[i], ts, "", 1), strings.Replace(after[i], `"timestamp":1700007200`, "", 1)
		if a != b {
			t.Errorf("after restart\n  %s\nbefore\n  %s", a, b)
		}
	}
	afterJob, _ := opened.e.DescribeJob("J1")
	if afterJob.JobProcessDetails != beforeJob.JobProcessDetails || !afterJob.CreatedAt.Equal(beforeJob.CreatedAt.Time) {
		t.Errorf("job after restart %+v, before %+v", afterJob, beforeJob)
	}
	equal(t, opened.takeNotes(), nil)

	// A timer that expired while the engine was down fires at once.
	opened.e.Start()
	opened.clock.Advance(0)
	if x := statusOf(t, opened.e, "J3", "dev3"); x.Status != jobs.StatusTimedOut {
		t.Errorf("J3 on dev3 after Start: %+v", x)
	}
	equal(t, opened.takeNotes(), []string{
		`$aws/things/dev3/jobs/notify {"timestamp":1700007200,"jobs":{}}`,
		`$aws/things/dev3/jobs/notify-next {"timestamp":1700007200}`,
	})
	x, _ := opened.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1"})
	if x.Status != jobs.StatusInProgress || x.StatusDetails.DetailsMap["p"] != "10" || x.VersionNumber != 2 || x.ApproximateSecondsBeforeTimedOut != 28*60 {
		t.Errorf("dev1's execution after restart: %+v", x)
	}

	// Jobs created after the restart queue behind the old ones.
	opened.createJob("J4", "dev1")
	_, body, _ := strings.Cut(opened.pub(thing+"get", ``), " ")
	if !strings.Contains(body, `"queuedJobs":[{"jobId":"J2"`) || !strings.Contains(body, `{"jobId":"J4"`) {
		t.Errorf("got %s", body)
	}
}

func TestMemoryStore(t *testing.T) {
	for range 2 {
		e, err := Open(Options{DataPath: store.MemoryPath})
		if err != nil {
			t.Fatal(err)
		}
		if out, _ := e.ListJobs(iotapi.ListJobsInput{}); len(out.Jobs) != 0 {
			t.Fatalf(":memory: kept %d jobs", len(out.Jobs))
		}
		if _, err := e.CreateJob(iotapi.CreateJobInput{JobID: "J1", Targets: []string{"dev1"}, Document: `{}`}); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStoreFailureIsInternalError(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1")
	h.takeNotes()
	// A real storage failure: the database goes away under the engine.
	if err := h.e.store.Close(); err != nil {
		t.Fatal(err)
	}
	r := rejection(t, h.pub(thing+"J1/update", `{"status":"IN_PROGRESS","clientToken":"x"}`))
	if r.Code != jobs.CodeInternalError || r.ClientToken != "x" {
		t.Errorf("got %+v", r)
	}
	r = rejection(t, h.pub(thing+"start-next", `{}`))
	if r.Code != jobs.CodeInternalError {
		t.Errorf("got %+v", r)
	}
	// Nothing that failed to commit is visible or announced.
	x, _ := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1"})
	if x.Status != jobs.StatusQueued || x.VersionNumber != 1 {
		t.Errorf("uncommitted change visible: %+v", x)
	}
	equal(t, h.takeNotes(), nil)
	var se *iotapi.ServiceError
	_, err := h.e.CreateJob(iotapi.CreateJobInput{JobID: "J2", Targets: []string{"dev1"}, Document: `{}`})
	if !errors.As(err, &se) || se.Kind != iotapi.InternalFailure {
		t.Errorf("got %v", err)
	}
}

func TestClosedEngine(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1")
	h.e.Close()
	if r := rejection(t, h.pub(thing+"J1/update", `{"status":"IN_PROGRESS"}`)); r.Code != jobs.CodeInternalError {
		t.Errorf("got %+v", r)
	}
	// Reads still answer from memory.
	if reply := h.pub(thing+"get", ``); !strings.Contains(reply, "J1") {
		t.Errorf("got %s", reply)
	}
}

// Many devices at once, for the race detector: each thing's updates are
// serialised and none is lost.
func TestConcurrentDevices(t *testing.T) {
	h := newHarness(t)
	const things, updates = 20, 10
	var names []string
	for i := range things {
		names = append(names, "t"+string(rune('a'+i)))
	}
	h.createJob("J1", names...)
	h.createJob("J2", names...)
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range updates {
				reply := h.pub("$aws/things/"+name+"/jobs/J1/update", `{"status":"IN_PROGRESS"}`)
				if !strings.Contains(reply, "/accepted") {
					t.Errorf("got %s", reply)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range updates {
				h.pub("$aws/things/"+name+"/jobs/get", ``)
				h.pub("$aws/things/"+name+"/jobs/$next/get", ``)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range updates {
			h.e.DescribeJob("J1")
			h.e.ListJobExecutionsForJob(iotapi.ListExecutionsInput{JobID: "J1"})
		}
	}()
	wg.Wait()
	for _, name := range names {
		x, err := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: name})
		if err != nil || x.VersionNumber != 1+updates {
			t.Errorf("%s: %+v %v", name, x, err)
		}
	}
}

// Whatever a device publishes, the engine never panics, answers requests
// with JSON on the request topic + /accepted or /rejected, and echoes a
// clientToken it can read.
func FuzzHandlePublish(f *testing.F) {
	f.Add("$aws/things/dev1/jobs/J1/update", `{"status":"IN_PROGRESS","expectedVersion":"1","clientToken":"c"}`)
	f.Add("$aws/things/dev1/jobs/start-next", `{"statusDetails":{"a":"b"},"stepTimeoutInMinutes":1}`)
	f.Add("$aws/things/dev1/jobs/$next/get", `{"executionNumber":1,"includeJobDocument":false}`)
	f.Add("$aws/things/dev1/jobs/get", ``)
	f.Add("$aws/things/dev1/jobs/x/y", `[`)
	e, err := Open(Options{DataPath: store.MemoryPath})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	if _, err := e.CreateJob(iotapi.CreateJobInput{JobID: "J1", Targets: []string{"dev1"}, Document: `{}`}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topic, payload string) {
		reply, ok := e.HandlePublish(context.Background(), NewRequest("test-client", topic, []byte(payload)))
		if !ok {
			return
		}
		if reply.Topic != topic+"/accepted" && reply.Topic != topic+"/rejected" {
			t.Fatalf("reply to %q on %q", topic, reply.Topic)
		}
		var body map[string]any
		if err := json.Unmarshal(reply.Payload, &body); err != nil {
			t.Fatalf("reply is not JSON: %s", reply.Payload)
		}
		if token := jobs.ClientTokenOf([]byte(payload)); token != "" && body["clientToken"] != token {
			t.Fatalf("clientToken %q not echoed: %s", token, reply.Payload)
		}
	})
}

// TestOpensTheFirstReleasesStore runs the engine on the store the first
// release wrote (see store.TestOpensTheFirstReleasesStore for what is in
// it): everything it held is there, and the device API works on it.
func TestOpensTheFirstReleasesStore(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "store", "testdata", "store-v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	h := openHarness(t, path, newClock(), time.Hour)
	old, err := h.e.DescribeJob("old")
	if err != nil || old.Status != iotapi.JobCanceled || old.JobProcessDetails != (iotapi.JobProcessDetails{NumberOfFailedThings: 1, NumberOfCanceledThings: 1}) {
		t.Errorf("job old: %+v, %v", old, err)
	}
	fw, err := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "fw-1", ThingName: "dev-1"})
	if err != nil || fw.Status != jobs.StatusInProgress || fw.StatusDetails.DetailsMap["step"] != "download" || fw.VersionNumber != 2 {
		t.Errorf("fw-1 on dev-1: %+v, %v", fw, err)
	}
	_, body, _ := strings.Cut(h.pub("$aws/things/dev-1/jobs/get", `{"clientToken":"t"}`), " ")
	if !strings.Contains(body, `"inProgressJobs":[{"jobId":"fw-1"`) || !strings.Contains(body, `"queuedJobs":[{"jobId":"reboot"`) {
		t.Errorf("get-pending of dev-1: %s", body)
	}
	h.pub("$aws/things/dev-1/jobs/fw-1/update", `{"status":"SUCCEEDED","expectedVersion":2}`)
	if x, _ := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "fw-1", ThingName: "dev-1"}); x.Status != jobs.StatusSucceeded {
		t.Errorf("fw-1 on dev-1 after the update: %+v", x)
	}
	h.reopen()
	if x, _ := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "fw-1", ThingName: "dev-1"}); x.Status != jobs.StatusSucceeded || x.VersionNumber != 3 {
		t.Errorf("fw-1 on dev-1 after a restart: %+v", x)
	}
}

// TestLongClientTokenIsRefusedAndNotEchoed: the spec caps clientToken at 64
// characters; a longer one is InvalidRequest, and the rejection does not
// echo it.
func TestLongClientTokenIsRefusedAndNotEchoed(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1")
	ok := strings.Repeat("é", 64)
	if got := h.pub(thing+"get", `{"clientToken":"`+ok+`"}`); !strings.Contains(got, `"clientToken":"`+ok+`"`) || strings.Contains(got, "rejected") {
		t.Errorf("64 characters: %s", got)
	}
	long := strings.Repeat("x", 65)
	r := rejection(t, h.pub(thing+"J1/update", `{"status":"IN_PROGRESS","clientToken":"`+long+`"}`))
	if r.Code != jobs.CodeInvalidRequest || r.ClientToken != "" {
		t.Errorf("65 characters: %+v", r)
	}
	if x := statusOf(t, h.e, "J1", "dev1"); x.Status != jobs.StatusQueued {
		t.Errorf("the refused update changed the execution: %+v", x)
	}
}

// TestRepliesAreNotHTMLEscaped: the service sends the job document as
// stored; json.Marshal would turn "a && <b>" into "a \u0026\u0026 \u003cb\u003e".
func TestRepliesAreNotHTMLEscaped(t *testing.T) {
	h := newHarness(t)
	if _, err := h.e.CreateJob(iotapi.CreateJobInput{JobID: "J1", Targets: []string{"dev1"}, Document: `{"run":"a && <b>"}`}); err != nil {
		t.Fatal(err)
	}
	for _, reply := range []string{h.pub(thing+"J1/get", `{}`), h.pub(thing+"start-next", `{}`)} {
		if !strings.Contains(reply, `"jobDocument":{"run":"a && <b>"}`) {
			t.Errorf("reply: %s", reply)
		}
	}
	if notes := h.takeNotes(); len(notes) == 0 || !strings.Contains(notes[len(notes)-1], `a && <b>`) {
		t.Errorf("notify-next: %v", notes)
	}
}
