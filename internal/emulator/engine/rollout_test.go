package engine

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The rollout tests move the fake clock: a rollout minute starts inside
// Advance. Abort checks run on a goroutine of their own: eventually polls.

func thingNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("t%02d", i)
	}
	return names
}

func (h *harness) create(in iotapi.CreateJobInput) {
	h.t.Helper()
	if in.Document == "" {
		in.Document = `{"op":"x"}`
	}
	if _, err := h.e.CreateJob(in); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) job(id string) iotapi.Job {
	h.t.Helper()
	j, err := h.e.DescribeJob(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

func (h *harness) rollout(id string) iotapi.RolloutState {
	h.t.Helper()
	r, err := h.e.RolloutState(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// notified is how many things have an execution of the job.
func notified(j iotapi.Job) int {
	p := j.JobProcessDetails
	return p.NumberOfQueuedThings + p.NumberOfInProgressThings + p.NumberOfSucceededThings + p.NumberOfFailedThings +
		p.NumberOfRejectedThings + p.NumberOfTimedOutThings + p.NumberOfCanceledThings + p.NumberOfRemovedThings
}

// checkThingCounts fails unless every job's counts of things, kept as
// commits apply, are what counting them afresh gives.
func checkThingCounts(t *testing.T, e *Engine) {
	t.Helper()
	e.stateMu.Lock()
	defer e.stateMu.Unlock()
	for _, j := range e.jobs {
		kept := maps.Clone(j.things)
		maps.DeleteFunc(kept, func(_ jobs.Status, n int) bool { return n == 0 })
		j.countThings()
		if !maps.Equal(kept, j.things) {
			t.Errorf("job %s: counts of things kept %v, counted %v", j.ID, kept, j.things)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 5s", what)
		}
	}
}

func TestRolloutAtAMaximumRate(t *testing.T) {
	h := openHarness(t, filepath.Join(t.TempDir(), "jobs.db"), newClock(), time.Minute)
	start := h.clock.Now()
	h.create(iotapi.CreateJobInput{JobID: "J", Targets: thingNames(25),
		JobExecutionsRolloutConfig: &iotapi.JobExecutionsRolloutConfig{MaximumPerMinute: new(int64(10))}})
	j := h.job("J")
	if notified(j) != 10 || !j.IsConcurrent || j.JobExecutionsRolloutConfig == nil || *j.JobExecutionsRolloutConfig.MaximumPerMinute != 10 {
		t.Fatalf("after creation: %d notified, %+v", notified(j), j)
	}
	r := h.rollout("J")
	if r.RatePerMinute != 10 || r.Notified != 10 || r.Waiting != 15 || !r.NextAt.Time.Equal(start.Add(time.Minute)) {
		t.Errorf("rollout: %+v", r)
	}
	// The first ten things are told at once; the others not yet.
	notes := strings.Join(h.takeNotes(), "\n")
	if !strings.Contains(notes, "$aws/things/t09/jobs/notify-next") || strings.Contains(notes, "$aws/things/t10/") {
		t.Errorf("notifications after creation:\n%s", notes)
	}
	h.clock.Advance(59 * time.Second)
	if n := notified(h.job("J")); n != 10 {
		t.Errorf("%d notified before the first minute is over", n)
	}
	h.clock.Advance(time.Second)
	if n := notified(h.job("J")); n != 20 {
		t.Errorf("%d notified in the second minute, want 20", n)
	}
	h.reopen() // the rollout survives a restart, its minute too
	if r := h.rollout("J"); r.Notified != 20 || r.Waiting != 5 {
		t.Errorf("after restart: %+v", r)
	}
	h.clock.Advance(time.Minute)
	j = h.job("J")
	if notified(j) != 25 || j.IsConcurrent || h.rollout("J").Waiting != 0 || !h.rollout("J").NextAt.IsZero() {
		t.Errorf("after three minutes: %d notified, %+v", notified(j), h.rollout("J"))
	}
	// queuedAt shows the pace: ten per minute.
	out, _ := h.e.ListJobExecutionsForJob(iotapi.ListExecutionsInput{JobID: "J"})
	perMinute := map[int64]int{}
	for _, x := range out.ExecutionSummaries {
		perMinute[int64(x.JobExecutionSummary.QueuedAt.Time.Sub(start)/time.Minute)]++
	}
	if perMinute[0] != 10 || perMinute[1] != 10 || perMinute[2] != 5 {
		t.Errorf("executions per minute: %v", perMinute)
	}
}

func TestExponentialRolloutRate(t *testing.T) {
	h := newHarness(t)
	h.create(iotapi.CreateJobInput{JobID: "J", Targets: thingNames(30),
		JobExecutionsRolloutConfig: &iotapi.JobExecutionsRolloutConfig{MaximumPerMinute: new(int64(8)), ExponentialRate: &iotapi.ExponentialRolloutRate{
			BaseRatePerMinute: 2, IncrementFactor: 2, RateIncreaseCriteria: iotapi.RateIncreaseCriteria{NumberOfNotifiedThings: new(int64(2))}}}})
	// 2 at once (rate 2); then 2 notified make it 4, 6 make it 2*2^3=16,
	// capped at maximumPerMinute 8.
	var got []int
	for range 5 {
		got = append(got, notified(h.job("J")))
		h.clock.Advance(time.Minute)
	}
	if fmt.Sprint(got) != "[2 6 14 22 30]" {
		t.Errorf("notified by minute: %v", got)
	}

	// By succeeded things: the rate grows only as things succeed.
	h.create(iotapi.CreateJobInput{JobID: "S", Targets: thingNames(10),
		JobExecutionsRolloutConfig: &iotapi.JobExecutionsRolloutConfig{ExponentialRate: &iotapi.ExponentialRolloutRate{
			BaseRatePerMinute: 1, IncrementFactor: 3, RateIncreaseCriteria: iotapi.RateIncreaseCriteria{NumberOfSucceededThings: new(int64(1))}}}})
	h.clock.Advance(time.Minute)
	if n := notified(h.job("S")); n != 2 {
		t.Fatalf("%d notified without a success, want 2", n)
	}
	h.pub("$aws/things/t00/jobs/S/update", `{"status":"SUCCEEDED"}`)
	if r := h.rollout("S"); r.RatePerMinute != 3 {
		t.Errorf("rate after one success: %+v", r)
	}
	h.clock.Advance(time.Minute)
	if n := notified(h.job("S")); n != 5 {
		t.Errorf("%d notified after one success, want 5", n)
	}
}

func TestAbortCancelsTheRest(t *testing.T) {
	h := openHarness(t, filepath.Join(t.TempDir(), "jobs.db"), newClock(), time.Minute)
	h.create(iotapi.CreateJobInput{JobID: "J", Targets: thingNames(20),
		JobExecutionsRolloutConfig: &iotapi.JobExecutionsRolloutConfig{MaximumPerMinute: new(int64(10))},
		AbortConfig: &iotapi.AbortConfig{CriteriaList: []iotapi.AbortCriteria{
			{FailureType: "FAILED", Action: "CANCEL", ThresholdPercentage: 20, MinNumberOfExecutedThings: 10}}}})
	h.pub("$aws/things/t00/jobs/start-next", `{}`)
	h.pub("$aws/things/t01/jobs/J/update", `{"status":"FAILED"}`)
	h.e.Drain()
	time.Sleep(20 * time.Millisecond)
	if s := h.job("J").Status; s != iotapi.JobInProgress {
		t.Fatalf("aborted at 1 failure of 10: %s", s)
	}
	h.pub("$aws/things/t02/jobs/J/update", `{"status":"FAILED"}`)
	eventually(t, "the job aborted at 2 failures of 10", func() bool { return h.job("J").Status == iotapi.JobCanceled })
	j := h.job("J")
	p := j.JobProcessDetails
	if p.NumberOfCanceledThings != 7 || p.NumberOfInProgressThings != 1 || p.NumberOfFailedThings != 2 || notified(j) != 10 || j.IsConcurrent ||
		j.ReasonCode != abortReasonCode || !strings.Contains(j.Comment, "FAILED") {
		t.Errorf("after the abort: %+v", j)
	}
	if r := h.rollout("J"); r.Aborted == nil || r.Aborted.FailureType != "FAILED" || r.Waiting != 0 {
		t.Errorf("rollout after the abort: %+v", r)
	}
	h.reopen() // the abort and its reason survive a restart
	if r := h.rollout("J"); r.Aborted == nil || h.job("J").ReasonCode != abortReasonCode {
		t.Errorf("after a restart: %+v", r)
	}
	// The things never notified stay so; the one in progress finishes.
	h.clock.Advance(2 * time.Minute)
	if n := notified(h.job("J")); n != 10 {
		t.Errorf("%d notified after the abort", n)
	}
	if r := h.pub("$aws/things/t00/jobs/J/update", `{"status":"SUCCEEDED"}`); !strings.Contains(r, "/accepted") {
		t.Errorf("the execution in progress could not finish: %s", r)
	}
	if x := statusOf(t, h.e, "J", "t03"); x.Status != jobs.StatusCanceled {
		t.Errorf("t03: %s", x.Status)
	}
	checkThingCounts(t, h.e)
}

func TestRetriesAsNextExecutionNumber(t *testing.T) {
	h := openHarness(t, filepath.Join(t.TempDir(), "jobs.db"), newClock(), time.Minute)
	h.create(iotapi.CreateJobInput{JobID: "J", Targets: []string{"t00"}, TimeoutConfig: &iotapi.TimeoutConfig{InProgressTimeoutInMinutes: new(int64(1))},
		JobExecutionsRetryConfig: &iotapi.JobExecutionsRetryConfig{CriteriaList: []iotapi.RetryCriteria{
			{FailureType: "FAILED", NumberOfRetries: 1}, {FailureType: "ALL", NumberOfRetries: 2}}}})
	h.takeNotes()
	h.pub("$aws/things/t00/jobs/J/update", `{"status":"FAILED"}`)
	if r := reply(t, h.pub("$aws/things/t00/jobs/J/get", `{}`)); !strings.Contains(r, `"executionNumber":2`) || !strings.Contains(r, `"status":"QUEUED"`) {
		t.Fatalf("after one failure: %s", r)
	}
	if notes := strings.Join(h.takeNotes(), "\n"); !strings.Contains(notes, `notify-next {"timestamp":1700000000,"execution":{"jobId":"J","status":"QUEUED"`) {
		t.Errorf("no notify-next of the retry:\n%s", notes)
	}
	h.reopen()
	// A second FAILED is not retried (FAILED: 1), but TIMED_OUT is, under
	// ALL: 2, which counts both earlier failures.
	h.pub("$aws/things/t00/jobs/start-next", `{}`)
	h.clock.Advance(time.Minute)
	x := statusOf(t, h.e, "J", "t00")
	if x.ExecutionNumber != 3 || x.Status != jobs.StatusQueued {
		t.Fatalf("after a time-out: #%d %s", x.ExecutionNumber, x.Status)
	}
	if r := h.pub("$aws/things/t00/jobs/J/update", `{"status":"FAILED","executionNumber":3}`); !strings.Contains(r, "/accepted") {
		t.Fatal(r)
	}
	if x := statusOf(t, h.e, "J", "t00"); x.ExecutionNumber != 3 || x.Status != jobs.StatusFailed {
		t.Errorf("the last failure was retried: #%d %s", x.ExecutionNumber, x.Status)
	}
	// Each execution stays addressable by number.
	if r := reply(t, h.pub("$aws/things/t00/jobs/J/get", `{"executionNumber":1}`)); r != "TerminalStateReached" {
		t.Errorf("describe #1: %s", r)
	}
	if r := h.pub("$aws/things/t00/jobs/J/update", `{"status":"SUCCEEDED","executionNumber":2}`); !strings.Contains(r, "/rejected") {
		t.Errorf("update of the timed-out #2: %s", r)
	}
	j := h.job("J")
	if j.Status != iotapi.JobCompleted || j.JobProcessDetails != (iotapi.JobProcessDetails{NumberOfFailedThings: 1}) {
		t.Errorf("job: %+v", j)
	}
	if r := h.rollout("J"); r.Retried != 2 {
		t.Errorf("retried %d, want 2", r.Retried)
	}
	checkThingCounts(t, h.e)
	if err := h.e.DeleteJobExecution(iotapi.DeleteJobExecutionInput{JobID: "J", ThingName: "t00", ExecutionNumber: 3}); err != nil {
		t.Fatal(err)
	}
	if j := h.job("J"); j.JobProcessDetails != (iotapi.JobProcessDetails{NumberOfTimedOutThings: 1}) {
		t.Errorf("after deleting the latest, the one before counts: %+v", j.JobProcessDetails)
	}
	checkThingCounts(t, h.e)
}

func TestContinuousJobFollowsItsGroup(t *testing.T) {
	h := openHarness(t, filepath.Join(t.TempDir(), "jobs.db"), newClock(), time.Minute)
	for _, name := range []string{"a", "b", "c"} {
		if _, err := h.e.CreateThing(iotapi.CreateThingInput{ThingName: name}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.e.CreateThingGroup(iotapi.CreateThingGroupInput{ThingGroupName: "g"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if err := h.e.AddThingToThingGroup("g", name); err != nil {
			t.Fatal(err)
		}
	}
	group := iotapi.ThingGroupARN("g")
	h.create(iotapi.CreateJobInput{JobID: "C", Targets: []string{group}, TargetSelection: "CONTINUOUS"})
	h.create(iotapi.CreateJobInput{JobID: "S", Targets: []string{group}})
	if j := h.job("C"); notified(j) != 2 || j.TargetSelection != "CONTINUOUS" || j.Targets[0] != group {
		t.Fatalf("continuous job: %+v", j)
	}
	h.reopen()
	if err := h.e.AddThingToThingGroup("g", "c"); err != nil {
		t.Fatal(err)
	}
	if x := statusOf(t, h.e, "C", "c"); x.Status != jobs.StatusQueued {
		t.Errorf("c joined later: %s", x.Status)
	}
	if _, err := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "S", ThingName: "c"}); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("a snapshot job reached c: %v", err)
	}
	h.takeNotes()
	if err := h.e.RemoveThingFromThingGroup("g", "b"); err != nil {
		t.Fatal(err)
	}
	if x := statusOf(t, h.e, "C", "b"); x.Status != jobs.StatusRemoved {
		t.Errorf("b left: %s", x.Status)
	}
	if x := statusOf(t, h.e, "S", "b"); x.Status != jobs.StatusQueued {
		t.Errorf("b's snapshot execution: %s", x.Status)
	}
	if notes := strings.Join(h.takeNotes(), "\n"); !strings.Contains(notes, "$aws/things/b/jobs/notify ") {
		t.Errorf("b was not told:\n%s", notes)
	}
	// Back in the group: execution number 2.
	if err := h.e.AddThingToThingGroup("g", "b"); err != nil {
		t.Fatal(err)
	}
	if x := statusOf(t, h.e, "C", "b"); x.Status != jobs.StatusQueued || x.ExecutionNumber != 2 {
		t.Errorf("b back: #%d %s", x.ExecutionNumber, x.Status)
	}
	for _, name := range []string{"a", "b", "c"} {
		h.pub("$aws/things/"+name+"/jobs/C/update", `{"status":"SUCCEEDED"}`)
	}
	if j := h.job("C"); j.Status != iotapi.JobInProgress || j.JobProcessDetails.NumberOfSucceededThings != 3 {
		t.Errorf("a continuous job runs on: %+v", j)
	}
	members, _ := h.e.ListThingsInThingGroup(iotapi.ListThingsInThingGroupInput{ThingGroupName: "g"})
	if strings.Join(members.Things, ",") != "a,b,c" {
		t.Errorf("members: %v", members.Things)
	}
	// A thing in two groups of the job stays when it leaves one.
	if _, err := h.e.CreateThingGroup(iotapi.CreateThingGroupInput{ThingGroupName: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := h.e.AddThingToThingGroup("h", "a"); err != nil {
		t.Fatal(err)
	}
	h.create(iotapi.CreateJobInput{JobID: "C2", Targets: []string{group, iotapi.ThingGroupARN("h")}, TargetSelection: "CONTINUOUS"})
	if err := h.e.DeleteThingGroup(iotapi.DeleteThingGroupInput{ThingGroupName: "g"}); err != nil {
		t.Fatal(err)
	}
	if x := statusOf(t, h.e, "C2", "a"); x.Status != jobs.StatusQueued {
		t.Errorf("a, still in h: %s", x.Status)
	}
	if x := statusOf(t, h.e, "C2", "c"); x.Status != jobs.StatusRemoved {
		t.Errorf("c, in no group of C2 now: %s", x.Status)
	}
	h.e.stateMu.RLock()
	groups := strings.Join(h.e.regThings["a"].Groups, ",")
	h.e.stateMu.RUnlock()
	if th, _ := h.e.DescribeThing("a"); groups != "h" || th.Version != 1 {
		t.Errorf("a after the group's deletion: %+v, groups %s", th, groups)
	}
	checkThingCounts(t, h.e)
	// Deleting what does not exist succeeds, as on AWS.
	if err := h.e.DeleteThing(iotapi.DeleteThingInput{ThingName: "nosuch"}); err != nil {
		t.Error(err)
	}
}

// A job whose last execution fails completes: the failure that finishes it
// does not abort it after the fact.
func TestAFinishedJobIsNotAborted(t *testing.T) {
	h := newHarness(t)
	h.create(iotapi.CreateJobInput{JobID: "J", Targets: []string{"t00"},
		AbortConfig: &iotapi.AbortConfig{CriteriaList: []iotapi.AbortCriteria{{FailureType: "ALL", Action: "CANCEL", ThresholdPercentage: 50, MinNumberOfExecutedThings: 1}}}})
	h.pub("$aws/things/t00/jobs/J/update", `{"status":"FAILED"}`)
	h.e.Drain()
	time.Sleep(50 * time.Millisecond)
	if j := h.job("J"); j.Status != iotapi.JobCompleted || j.ReasonCode != "" {
		t.Errorf("job: %+v", j)
	}
}
