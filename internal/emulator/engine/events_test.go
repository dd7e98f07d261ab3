package engine

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// recorder is a subscriber that writes each event as a line.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *recorder) record(events []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range events {
		switch ev := ev.(type) {
		case ExecutionChanged:
			from, to := "-", "-"
			if ev.Before != nil {
				from = fmt.Sprintf("%s/v%d", ev.Before.Status, ev.Before.VersionNumber)
			}
			if ev.After != nil {
				to = fmt.Sprintf("%s/v%d", ev.After.Status, ev.After.VersionNumber)
			}
			r.lines = append(r.lines, fmt.Sprintf("execution %s %s #%d %s: %s -> %s", ev.Thing, ev.JobID, ev.ExecutionNumber, ev.Cause, from, to))
		case QueueChanged:
			head := "-"
			if ev.Head != nil {
				head = ev.Head.JobID
			}
			r.lines = append(r.lines, fmt.Sprintf("queue %s set=%v head=%v: %d in progress, %d queued, head %s",
				ev.Thing, ev.SetChanged, ev.HeadChanged, len(ev.InProgress), len(ev.Queued), head))
		case JobChanged:
			r.lines = append(r.lines, fmt.Sprintf("job %s %s deleted=%v", ev.JobID, ev.Status, ev.Deleted))
		}
	}
}

func (r *recorder) take(e *Engine) []string {
	e.Drain()
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := r.lines
	r.lines = nil
	return lines
}

func TestEventsInCommitOrderWithTheirCauses(t *testing.T) {
	h := newHarness(t)
	var rec recorder
	h.e.Subscribe("test", rec.record)
	h.createJob("J1", "dev1", "dev2")
	equal(t, rec.take(h.e), []string{
		"execution dev1 J1 #1 created: - -> QUEUED/v1",
		"queue dev1 set=true head=true: 0 in progress, 1 queued, head J1",
		"execution dev2 J1 #1 created: - -> QUEUED/v1",
		"queue dev2 set=true head=true: 0 in progress, 1 queued, head J1",
		"job J1 IN_PROGRESS deleted=false",
	})
	h.pub(thing+"start-next", `{"stepTimeoutInMinutes":1}`)
	h.pub("$aws/things/dev2/jobs/J1/update", `{"status":"FAILED"}`)
	equal(t, rec.take(h.e), []string{
		"execution dev1 J1 #1 device-update: QUEUED/v1 -> IN_PROGRESS/v2",
		"execution dev2 J1 #1 device-update: QUEUED/v1 -> FAILED/v2",
		"queue dev2 set=true head=true: 0 in progress, 0 queued, head -",
	})
	h.clock.Advance(time.Minute)
	equal(t, rec.take(h.e), []string{
		"execution dev1 J1 #1 timed-out: IN_PROGRESS/v2 -> TIMED_OUT/v2",
		"queue dev1 set=true head=true: 0 in progress, 0 queued, head -",
		"job J1 COMPLETED deleted=false",
	})
	if err := h.e.DeleteJob(iotapi.DeleteJobInput{JobID: "J1"}); err != nil {
		t.Fatal(err)
	}
	equal(t, rec.take(h.e), []string{
		"execution dev1 J1 #1 deleted: TIMED_OUT/v2 -> -",
		"execution dev2 J1 #1 deleted: FAILED/v2 -> -",
		"job J1 COMPLETED deleted=true",
	})
}

// TestSlowSubscriberHoldsNoWriterUp: a subscriber that does not return
// loses the events past its queue's bound; every write still completes,
// and the notifications of later commits go out once it is back.
func TestSlowSubscriberHoldsNoWriterUp(t *testing.T) {
	h := newHarness(t)
	release := make(chan struct{})
	var handled sync.WaitGroup
	handled.Add(1)
	var once sync.Once
	var mu sync.Mutex
	batches := 0
	h.e.Subscribe("stuck", func([]Event) {
		once.Do(func() { handled.Done(); <-release })
		mu.Lock()
		batches++
		mu.Unlock()
	})
	h.createJob("J1", "dev1")
	handled.Wait() // the subscriber is now stuck in its first batch
	const updates = eventBatches + 100
	for i := range updates {
		h.pub(thing+"J1/update", fmt.Sprintf(`{"status":"IN_PROGRESS","statusDetails":{"n":"%d"}}`, i))
	}
	if x := statusOf(t, h.e, "J1", "dev1"); x.VersionNumber != updates+1 {
		t.Fatalf("version %d after %d updates", x.VersionNumber, updates)
	}
	close(release)
	h.e.Drain()
	mu.Lock()
	defer mu.Unlock()
	if batches != 1+eventBatches {
		t.Errorf("handled %d batches; want the first, then the %d queued (the rest dropped)", batches, eventBatches)
	}
	// The notifications' own subscriber was not stuck: it has them all.
	if notes := h.takeNotes(); len(notes) != 2 || !strings.Contains(notes[0], "notify") {
		t.Errorf("notifications: %v", notes)
	}
}

// TestExecutionsAreKeyedByNumber: an engine-side cause (as retries will be)
// creates execution 2 of a job on a thing beside the finished 1. The device
// API addresses either by number and sees the latest by default; the
// control plane lists both; a restart keeps both.
func TestExecutionsAreKeyedByNumber(t *testing.T) {
	h := openHarness(t, filepath.Join(t.TempDir(), "jobs.db"), newClock(), time.Minute)
	h.createJob("J1", "dev1")
	h.pub(thing+"J1/update", `{"status":"FAILED","statusDetails":{"try":"1"}}`)
	h.clock.Advance(time.Second)
	h.e.opsMu.Lock()
	err := h.e.commit(&mutation{execs: []execChange{change(queued("J1", "dev1", 2, h.e.clock.Now()), CauseCreated)}})
	h.e.opsMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		if r := reply(t, h.pub(thing+"J1/get", `{"executionNumber":1}`)); r != "TerminalStateReached" {
			t.Errorf("describe #1: %s", r)
		}
		if r := reply(t, h.pub(thing+"J1/get", `{}`)); !strings.Contains(r, `"executionNumber":2`) || !strings.Contains(r, `"status":"QUEUED"`) {
			t.Errorf("describe, latest: %s", r)
		}
		if r := reply(t, h.pub(thing+"get", `{}`)); !strings.Contains(r, `"queuedJobs":[{"jobId":"J1"`) || !strings.Contains(r, `"executionNumber":2`) {
			t.Errorf("get-pending: %s", r)
		}
		out, err := h.e.ListJobExecutionsForJob(iotapi.ListExecutionsInput{JobID: "J1", MaxResults: 1})
		if err != nil || len(out.ExecutionSummaries) != 1 || out.ExecutionSummaries[0].JobExecutionSummary.ExecutionNumber != 1 {
			t.Fatalf("first page: %+v, %v", out, err)
		}
		out, err = h.e.ListJobExecutionsForJob(iotapi.ListExecutionsInput{JobID: "J1", NextToken: out.NextToken})
		if err != nil || len(out.ExecutionSummaries) != 1 || out.ExecutionSummaries[0].JobExecutionSummary.ExecutionNumber != 2 || out.NextToken != "" {
			t.Fatalf("second page: %+v, %v", out, err)
		}
		forThing, _ := h.e.ListJobExecutionsForThing(iotapi.ListExecutionsInput{ThingName: "dev1"})
		if len(forThing.ExecutionSummaries) != 2 {
			t.Errorf("for the thing: %+v", forThing)
		}
		j, _ := h.e.DescribeJob("J1")
		// The counts are of things, by their latest execution.
		if j.Status != iotapi.JobInProgress || j.JobProcessDetails != (iotapi.JobProcessDetails{NumberOfQueuedThings: 1}) {
			t.Errorf("job: %+v", j)
		}
	}
	check()
	h.reopen()
	check()
	h.pub(thing+"J1/update", `{"status":"SUCCEEDED","executionNumber":2}`)
	if err := h.e.DeleteJobExecution(iotapi.DeleteJobExecutionInput{JobID: "J1", ThingName: "dev1", ExecutionNumber: 1}); err != nil {
		t.Fatal(err)
	}
	x, err := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1"})
	if err != nil || x.ExecutionNumber != 2 || x.Status != jobs.StatusSucceeded {
		t.Errorf("after deleting #1: %+v, %v", x, err)
	}
	if _, err := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1", ExecutionNumber: new(int64(1))}); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("#1 after its deletion: %v", err)
	}
}

// reply is the code of a rejected reply, or the accepted reply's payload.
func reply(t *testing.T, got string) string {
	t.Helper()
	topic, body, _ := strings.Cut(got, " ")
	if strings.HasSuffix(topic, "/rejected") {
		return string(rejection(t, got).Code)
	}
	return body
}
