package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

func kindOf(err error) iotapi.ErrorKind {
	var se *iotapi.ServiceError
	if errors.As(err, &se) {
		return se.Kind
	}
	return ""
}

func TestCreateJobValidation(t *testing.T) {
	h := newHarness(t)
	h.createJob("taken", "dev1")
	ok := iotapi.CreateJobInput{JobID: "J", Targets: []string{"dev1"}, Document: `{"a":1}`}
	with := func(change func(*iotapi.CreateJobInput)) iotapi.CreateJobInput {
		in := ok
		change(&in)
		return in
	}
	tests := []struct {
		name string
		in   iotapi.CreateJobInput
		kind iotapi.ErrorKind
	}{
		{"bad job id", with(func(in *iotapi.CreateJobInput) { in.JobID = "a:b" }), iotapi.InvalidRequest},
		{"no targets", with(func(in *iotapi.CreateJobInput) { in.Targets = nil }), iotapi.InvalidRequest},
		{"bad thing name", with(func(in *iotapi.CreateJobInput) { in.Targets = []string{"a/b"} }), iotapi.InvalidRequest},
		{"unknown thing group", with(func(in *iotapi.CreateJobInput) { in.Targets = []string{"arn:aws:iot:eu-west-1:1:thinggroup/g"} }), iotapi.ResourceNotFound},
		{"target selection", with(func(in *iotapi.CreateJobInput) { in.TargetSelection = "ONCE" }), iotapi.InvalidRequest},
		{"rollout rate 0", with(func(in *iotapi.CreateJobInput) {
			in.JobExecutionsRolloutConfig = &iotapi.JobExecutionsRolloutConfig{MaximumPerMinute: new(int64(0))}
		}), iotapi.InvalidRequest},
		{"increment factor with two decimals", with(func(in *iotapi.CreateJobInput) {
			in.JobExecutionsRolloutConfig = &iotapi.JobExecutionsRolloutConfig{ExponentialRate: &iotapi.ExponentialRolloutRate{
				BaseRatePerMinute: 1, IncrementFactor: 1.55, RateIncreaseCriteria: iotapi.RateIncreaseCriteria{NumberOfNotifiedThings: new(int64(1))}}}
		}), iotapi.InvalidRequest},
		{"abort over 100%", with(func(in *iotapi.CreateJobInput) {
			in.AbortConfig = &iotapi.AbortConfig{CriteriaList: []iotapi.AbortCriteria{{FailureType: "FAILED", Action: "CANCEL", ThresholdPercentage: 100.5, MinNumberOfExecutedThings: 1}}}
		}), iotapi.InvalidRequest},
		{"abort action", with(func(in *iotapi.CreateJobInput) {
			in.AbortConfig = &iotapi.AbortConfig{CriteriaList: []iotapi.AbortCriteria{{FailureType: "FAILED", Action: "PAUSE", ThresholdPercentage: 1, MinNumberOfExecutedThings: 1}}}
		}), iotapi.InvalidRequest},
		{"retry REJECTED", with(func(in *iotapi.CreateJobInput) {
			in.JobExecutionsRetryConfig = &iotapi.JobExecutionsRetryConfig{CriteriaList: []iotapi.RetryCriteria{{FailureType: "REJECTED", NumberOfRetries: 1}}}
		}), iotapi.InvalidRequest},
		{"retries over 10", with(func(in *iotapi.CreateJobInput) {
			in.JobExecutionsRetryConfig = &iotapi.JobExecutionsRetryConfig{CriteriaList: []iotapi.RetryCriteria{{FailureType: "FAILED", NumberOfRetries: 6}, {FailureType: "ALL", NumberOfRetries: 5}}}
		}), iotapi.InvalidRequest},
		{"other ARN", with(func(in *iotapi.CreateJobInput) { in.Targets = []string{"arn:aws:s3:::bucket"} }), iotapi.InvalidRequest},
		{"document not JSON", with(func(in *iotapi.CreateJobInput) { in.Document = `{` }), iotapi.InvalidRequest},
		{"document not an object", with(func(in *iotapi.CreateJobInput) { in.Document = `"x"` }), iotapi.InvalidRequest},
		{"document too big", with(func(in *iotapi.CreateJobInput) { in.Document = `{"a":"` + strings.Repeat("x", 32768) + `"}` }), iotapi.InvalidRequest},
		{"description with control character", with(func(in *iotapi.CreateJobInput) { in.Description = "a\nb" }), iotapi.InvalidRequest},
		{"timeout too long", with(func(in *iotapi.CreateJobInput) {
			in.TimeoutConfig = &iotapi.TimeoutConfig{InProgressTimeoutInMinutes: new(int64(10081))}
		}), iotapi.InvalidRequest},
		{"timeout negative", with(func(in *iotapi.CreateJobInput) {
			in.TimeoutConfig = &iotapi.TimeoutConfig{InProgressTimeoutInMinutes: new(int64(-1))}
		}), iotapi.InvalidRequest},
		{"existing id", with(func(in *iotapi.CreateJobInput) { in.JobID = "taken" }), iotapi.ResourceAlreadyExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.e.CreateJob(tt.in); kindOf(err) != tt.kind {
				t.Errorf("got %v, want %s", err, tt.kind)
			}
		})
	}
	if out, _ := h.e.ListJobs(iotapi.ListJobsInput{}); len(out.Jobs) != 1 {
		t.Errorf("refused jobs were created: %+v", out.Jobs)
	}
}

func TestCreateAndDescribeJob(t *testing.T) {
	h := newHarness(t)
	j, err := h.e.CreateJob(iotapi.CreateJobInput{
		JobID:       "J1",
		Targets:     []string{"dev1", "arn:aws:iot:eu-west-1:999999999999:thing/dev2", "dev1"},
		Document:    `{"op": "reboot"}`,
		Description: "reboot",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"arn:aws:iot:us-east-1:123456789012:thing/dev1", "arn:aws:iot:us-east-1:123456789012:thing/dev2"}
	equal(t, j.Targets, want)
	if j.JobArn != "arn:aws:iot:us-east-1:123456789012:job/J1" || j.Status != iotapi.JobInProgress || j.JobProcessDetails.NumberOfQueuedThings != 2 || !j.CompletedAt.IsZero() {
		t.Errorf("got %+v", j)
	}
	// The document keeps its text on the control plane and is an object over MQTT.
	if doc, _ := h.e.GetJobDocument("J1"); doc != `{"op": "reboot"}` {
		t.Errorf("document %q", doc)
	}
	if reply := h.pub("$aws/things/dev2/jobs/J1/get", ``); !strings.Contains(reply, `"jobDocument":{"op":"reboot"}`) {
		t.Errorf("got %s", reply)
	}

	h.clock.Advance(time.Minute)
	h.pub("$aws/things/dev1/jobs/J1/update", `{"status":"SUCCEEDED"}`)
	h.pub("$aws/things/dev2/jobs/J1/update", `{"status":"REJECTED"}`)
	j, _ = h.e.DescribeJob("J1")
	end := time.Unix(1700000060, 0)
	if j.Status != iotapi.JobCompleted || !j.CompletedAt.Equal(end) || !j.LastUpdatedAt.Equal(end) ||
		j.JobProcessDetails != (iotapi.JobProcessDetails{NumberOfSucceededThings: 1, NumberOfRejectedThings: 1}) {
		t.Errorf("got %+v", j)
	}
	for _, id := range []string{"nope"} {
		if _, err := h.e.DescribeJob(id); kindOf(err) != iotapi.ResourceNotFound {
			t.Errorf("DescribeJob: %v", err)
		}
		if _, err := h.e.GetJobDocument(id); kindOf(err) != iotapi.ResourceNotFound {
			t.Errorf("GetJobDocument: %v", err)
		}
	}
}

func TestCancelJob(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1", "dev2", "dev3")
	h.pub("$aws/things/dev1/jobs/start-next", ``)
	h.pub("$aws/things/dev2/jobs/J1/update", `{"status":"SUCCEEDED"}`)

	if _, err := h.e.CancelJob(iotapi.CancelJobInput{JobID: "J1", ReasonCode: "bad code"}); kindOf(err) != iotapi.InvalidRequest {
		t.Errorf("bad reason code: %v", err)
	}
	j, err := h.e.CancelJob(iotapi.CancelJobInput{JobID: "J1", Comment: "stop", ReasonCode: "OOPS_1"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != iotapi.JobCanceled || *j.ForceCanceled || j.Comment != "stop" || j.ReasonCode != "OOPS_1" ||
		j.JobProcessDetails != (iotapi.JobProcessDetails{NumberOfInProgressThings: 1, NumberOfSucceededThings: 1, NumberOfCanceledThings: 1}) {
		t.Errorf("got %+v", j)
	}
	// The IN_PROGRESS execution survives a cancel without force.
	if reply := h.pub("$aws/things/dev1/jobs/J1/update", `{"status":"IN_PROGRESS"}`); !strings.Contains(reply, "/accepted") {
		t.Errorf("got %s", reply)
	}
	if _, err := h.e.CancelJob(iotapi.CancelJobInput{JobID: "J1"}); kindOf(err) != iotapi.InvalidRequest {
		t.Errorf("second cancel without force: %v", err)
	}
	j, err = h.e.CancelJob(iotapi.CancelJobInput{JobID: "J1", Force: true})
	if err != nil || !*j.ForceCanceled || j.JobProcessDetails.NumberOfCanceledThings != 2 || j.Comment != "stop" {
		t.Errorf("forced cancel: %+v %v", j, err)
	}
	x, _ := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1"})
	if x.Status != jobs.StatusCanceled || !*x.ForceCanceled || x.VersionNumber != 3 {
		t.Errorf("got %+v", x)
	}
	if _, err := h.e.CancelJob(iotapi.CancelJobInput{JobID: "J1", Force: true}); kindOf(err) != iotapi.InvalidRequest {
		t.Errorf("third cancel: %v", err)
	}
	h.createJob("J2", "dev1")
	h.pub("$aws/things/dev1/jobs/J2/update", `{"status":"SUCCEEDED"}`)
	if _, err := h.e.CancelJob(iotapi.CancelJobInput{JobID: "J2"}); kindOf(err) != iotapi.InvalidRequest {
		t.Errorf("cancel of a COMPLETED job: %v", err)
	}
	if _, err := h.e.CancelJob(iotapi.CancelJobInput{JobID: "nope"}); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("cancel of an unknown job: %v", err)
	}
}

func TestDeleteJob(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1")
	if err := h.e.DeleteJob(iotapi.DeleteJobInput{JobID: "J1", Force: false}); kindOf(err) != iotapi.InvalidStateTransition {
		t.Errorf("delete of an IN_PROGRESS job without force: %v", err)
	}
	if err := h.e.DeleteJob(iotapi.DeleteJobInput{JobID: "J1", Force: true}); err != nil {
		t.Fatal(err)
	}
	if r := rejection(t, h.pub(thing+"J1/get", ``)); r.Code != jobs.CodeResourceNotFound {
		t.Errorf("got %+v", r)
	}
	if err := h.e.DeleteJob(iotapi.DeleteJobInput{JobID: "J1", Force: true}); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("second delete: %v", err)
	}
	// The id is free again, and survives a restart as deleted.
	h.reopen()
	if _, err := h.e.DescribeJob("J1"); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("deleted job back after restart: %v", err)
	}
	h.createJob("J1", "dev1")
}

func TestJobExecutionsControl(t *testing.T) {
	h := newHarness(t)
	h.createJob("J1", "dev1", "dev2")
	h.pub(thing+"start-next", ``)

	if err := h.e.CancelJobExecution(iotapi.CancelJobExecutionInput{JobID: "J1", ThingName: "dev1"}); kindOf(err) != iotapi.InvalidStateTransition {
		t.Errorf("cancel IN_PROGRESS without force: %v", err)
	}
	v := int64(1)
	if err := h.e.CancelJobExecution(iotapi.CancelJobExecutionInput{JobID: "J1", ThingName: "dev1", Force: true, ExpectedVersion: &v}); kindOf(err) != iotapi.VersionConflict {
		t.Errorf("cancel with a stale version: %v", err)
	}
	v = 2
	h.takeNotes()
	err := h.e.CancelJobExecution(iotapi.CancelJobExecutionInput{JobID: "J1", ThingName: "dev1", Force: true, ExpectedVersion: &v, StatusDetails: map[string]string{"why": "test"}})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, h.takeNotes(), []string{notify + `{` + ts + `,"jobs":{}}`, nextNote + `{` + ts + `}`})
	x, _ := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1"})
	if x.Status != jobs.StatusCanceled || x.StatusDetails.DetailsMap["why"] != "test" || !*x.ForceCanceled {
		t.Errorf("got %+v", x)
	}
	if err := h.e.CancelJobExecution(iotapi.CancelJobExecutionInput{JobID: "J1", ThingName: "dev1"}); kindOf(err) != iotapi.InvalidStateTransition {
		t.Errorf("cancel of a terminal execution: %v", err)
	}
	if err := h.e.CancelJobExecution(iotapi.CancelJobExecutionInput{JobID: "J1", ThingName: "ghost"}); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("cancel on an untargeted thing: %v", err)
	}
	if err := h.e.DeleteJobExecution(iotapi.DeleteJobExecutionInput{JobID: "J1", ThingName: "dev2", ExecutionNumber: 1, Force: false}); kindOf(err) != iotapi.InvalidStateTransition {
		t.Errorf("delete of a QUEUED execution without force: %v", err)
	}
	if err := h.e.DeleteJobExecution(iotapi.DeleteJobExecutionInput{JobID: "J1", ThingName: "dev1", ExecutionNumber: 2, Force: false}); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("delete of another execution number: %v", err)
	}
	if err := h.e.DeleteJobExecution(iotapi.DeleteJobExecutionInput{JobID: "J1", ThingName: "dev1", ExecutionNumber: 1, Force: false}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "J1", ThingName: "dev1"}); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("deleted execution: %v", err)
	}
	out, _ := h.e.ListJobExecutionsForJob(iotapi.ListExecutionsInput{JobID: "J1"})
	if len(out.ExecutionSummaries) != 1 || out.ExecutionSummaries[0].ThingArn != iotapi.ThingARN("dev2") {
		t.Errorf("got %+v", out)
	}
	j, _ := h.e.DescribeJob("J1")
	if j.JobProcessDetails != (iotapi.JobProcessDetails{NumberOfQueuedThings: 1}) {
		t.Errorf("counts after delete: %+v", j.JobProcessDetails)
	}
}

func TestListPaging(t *testing.T) {
	h := newHarness(t)
	var things []string
	for _, c := range "edcba" {
		things = append(things, "t"+string(c))
	}
	for _, id := range []string{"J1", "J2", "J3", "J4", "J5"} {
		h.createJob(id, things...)
	}
	h.pub("$aws/things/ta/jobs/J2/update", `{"status":"SUCCEEDED"}`)
	for _, thing := range things {
		h.pub("$aws/things/"+thing+"/jobs/J3/update", `{"status":"FAILED"}`)
	}

	collect := func(list func(token string) ([]string, string, error)) []string {
		var all []string
		token := ""
		for {
			page, next, err := list(token)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				return all
			}
			token = next
		}
	}
	jobsOf := func(status iotapi.JobStatus) []string {
		return collect(func(token string) ([]string, string, error) {
			out, err := h.e.ListJobs(iotapi.ListJobsInput{Status: status, MaxResults: 2, NextToken: token})
			var ids []string
			for _, j := range out.Jobs {
				ids = append(ids, j.JobID)
			}
			return ids, out.NextToken, err
		})
	}
	equal(t, jobsOf(""), []string{"J1", "J2", "J3", "J4", "J5"})
	equal(t, jobsOf(iotapi.JobCompleted), []string{"J3"})
	equal(t, jobsOf(iotapi.JobDeletionInProgress), nil)

	forJob := collect(func(token string) ([]string, string, error) {
		out, err := h.e.ListJobExecutionsForJob(iotapi.ListExecutionsInput{JobID: "J1", MaxResults: 2, NextToken: token})
		var names []string
		for _, x := range out.ExecutionSummaries {
			names = append(names, iotapi.ThingOfARN(x.ThingArn))
		}
		return names, out.NextToken, err
	})
	equal(t, forJob, []string{"ta", "tb", "tc", "td", "te"})
	forThing := collect(func(token string) ([]string, string, error) {
		out, err := h.e.ListJobExecutionsForThing(iotapi.ListExecutionsInput{ThingName: "ta", Status: jobs.StatusQueued, MaxResults: 1, NextToken: token})
		var ids []string
		for _, x := range out.ExecutionSummaries {
			ids = append(ids, x.JobID)
		}
		return ids, out.NextToken, err
	})
	equal(t, forThing, []string{"J1", "J4", "J5"})

	if _, err := h.e.ListJobs(iotapi.ListJobsInput{MaxResults: 251}); kindOf(err) != iotapi.InvalidRequest {
		t.Errorf("maxResults 251: %v", err)
	}
	if _, err := h.e.ListJobs(iotapi.ListJobsInput{NextToken: "x"}); kindOf(err) != iotapi.InvalidRequest {
		t.Errorf("bad token: %v", err)
	}
	if _, err := h.e.ListJobExecutionsForJob(iotapi.ListExecutionsInput{JobID: "nope"}); kindOf(err) != iotapi.ResourceNotFound {
		t.Errorf("unknown job: %v", err)
	}
	if out, err := h.e.ListJobExecutionsForThing(iotapi.ListExecutionsInput{ThingName: "ghost"}); err != nil || len(out.ExecutionSummaries) != 0 {
		t.Errorf("unknown thing: %+v %v", out, err)
	}
}
