package controlplane_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// The control plane as the real AWS SDK for Go v2 sees it: if the SDK's own
// serializers and deserializers accept our routes, members, timestamps and
// error shapes, every other AWS SDK and the AWS CLI will too.

func sdkClient(emu *testutil.Emulator) *iot.Client {
	return iot.New(iot.Options{
		BaseEndpoint: aws.String(emu.HTTPURL),
		Region:       "us-east-1",
		// Any key signs: the emulator does not check signatures.
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET", Source: "test"}, nil
		}),
		// Refused or failed calls must surface at once, not be retried.
		RetryMaxAttempts: 1,
	})
}

// near fails unless at is set and within a minute of now.
func near(t *testing.T, name string, at *time.Time) {
	t.Helper()
	if at == nil {
		t.Fatalf("%s is not set", name)
	}
	if d := time.Since(*at); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %s, %s away from now", name, at, d)
	}
}

func TestControlPlaneWithTheAWSSDK(t *testing.T) {
	emu := testutil.StartEmulator(t)
	client := sdkClient(emu)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	created, err := client.CreateJob(ctx, &iot.CreateJobInput{
		JobId:         aws.String("sdk-job"),
		Targets:       []string{"arn:aws:iot:us-east-1:123456789012:thing/dev-1", "dev-2"},
		Document:      aws.String(`{"operation":"install","version":"1.2.3"}`),
		Description:   aws.String("firmware 1.2.3"),
		TimeoutConfig: &types.TimeoutConfig{InProgressTimeoutInMinutes: aws.Int64(15)},
	})
	if err != nil {
		t.Fatalf("CreateJob: %v", err)
	}
	if aws.ToString(created.JobId) != "sdk-job" || aws.ToString(created.JobArn) != "arn:aws:iot:us-east-1:123456789012:job/sdk-job" ||
		aws.ToString(created.Description) != "firmware 1.2.3" {
		t.Errorf("CreateJob output: id %q, arn %q, description %q", aws.ToString(created.JobId), aws.ToString(created.JobArn), aws.ToString(created.Description))
	}

	described, err := client.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("sdk-job")})
	if err != nil {
		t.Fatalf("DescribeJob: %v", err)
	}
	job := described.Job
	if job == nil {
		t.Fatal("DescribeJob: no job")
	}
	if job.Status != types.JobStatusInProgress || job.TargetSelection != types.TargetSelectionSnapshot ||
		aws.ToString(job.Description) != "firmware 1.2.3" {
		t.Errorf("job: status %s, targetSelection %s, description %q", job.Status, job.TargetSelection, aws.ToString(job.Description))
	}
	if want := []string{"arn:aws:iot:us-east-1:123456789012:thing/dev-1", "arn:aws:iot:us-east-1:123456789012:thing/dev-2"}; strings.Join(job.Targets, " ") != strings.Join(want, " ") {
		t.Errorf("targets %v, want %v", job.Targets, want)
	}
	if job.TimeoutConfig == nil || aws.ToInt64(job.TimeoutConfig.InProgressTimeoutInMinutes) != 15 {
		t.Errorf("timeoutConfig %+v, want 15 minutes", job.TimeoutConfig)
	}
	if job.JobProcessDetails == nil || aws.ToInt32(job.JobProcessDetails.NumberOfQueuedThings) != 2 {
		t.Errorf("jobProcessDetails %+v, want 2 queued", job.JobProcessDetails)
	}
	near(t, "createdAt", job.CreatedAt)
	near(t, "lastUpdatedAt", job.LastUpdatedAt)
	if job.CompletedAt != nil {
		t.Errorf("completedAt %s on a job in progress", job.CompletedAt)
	}

	doc, err := client.GetJobDocument(ctx, &iot.GetJobDocumentInput{JobId: aws.String("sdk-job")})
	if err != nil || aws.ToString(doc.Document) != `{"operation":"install","version":"1.2.3"}` {
		t.Errorf("GetJobDocument: %q, %v", aws.ToString(doc.Document), err)
	}

	forThing, err := client.ListJobExecutionsForThing(ctx, &iot.ListJobExecutionsForThingInput{ThingName: aws.String("dev-1")})
	if err != nil {
		t.Fatalf("ListJobExecutionsForThing: %v", err)
	}
	if len(forThing.ExecutionSummaries) != 1 {
		t.Fatalf("ListJobExecutionsForThing: %d executions, want 1", len(forThing.ExecutionSummaries))
	}
	summary := forThing.ExecutionSummaries[0]
	if aws.ToString(summary.JobId) != "sdk-job" || summary.JobExecutionSummary == nil ||
		summary.JobExecutionSummary.Status != types.JobExecutionStatusQueued ||
		aws.ToInt64(summary.JobExecutionSummary.ExecutionNumber) != 1 {
		t.Errorf("execution summary: job %q, %+v", aws.ToString(summary.JobId), summary.JobExecutionSummary)
	} else {
		near(t, "queuedAt", summary.JobExecutionSummary.QueuedAt)
	}

	if _, err := client.CancelJobExecution(ctx, &iot.CancelJobExecutionInput{
		JobId: aws.String("sdk-job"), ThingName: aws.String("dev-1"),
		ExpectedVersion: aws.Int64(1), StatusDetails: map[string]string{"canceledBy": "sdk-test"},
	}); err != nil {
		t.Fatalf("CancelJobExecution: %v", err)
	}
	execution, err := client.DescribeJobExecution(ctx, &iot.DescribeJobExecutionInput{
		JobId: aws.String("sdk-job"), ThingName: aws.String("dev-1"), ExecutionNumber: aws.Int64(1),
	})
	if err != nil {
		t.Fatalf("DescribeJobExecution: %v", err)
	}
	x := execution.Execution
	if x.Status != types.JobExecutionStatusCanceled || x.ForceCanceled == nil || *x.ForceCanceled ||
		aws.ToString(x.ThingArn) != "arn:aws:iot:us-east-1:123456789012:thing/dev-1" ||
		x.StatusDetails == nil || x.StatusDetails.DetailsMap["canceledBy"] != "sdk-test" {
		t.Errorf("canceled execution: %+v", x)
	}
	near(t, "execution lastUpdatedAt", x.LastUpdatedAt)

	// A second cancel of the same execution is a typed conflict.
	_, err = client.CancelJobExecution(ctx, &iot.CancelJobExecutionInput{JobId: aws.String("sdk-job"), ThingName: aws.String("dev-1")})
	var transition *types.InvalidStateTransitionException
	if !errors.As(err, &transition) {
		t.Errorf("second CancelJobExecution: %v (%T), want InvalidStateTransitionException", err, err)
	}

	_, err = client.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("no-such-job")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("DescribeJob of an unknown job: %v (%T), want *types.ResourceNotFoundException", err, err)
	}
	if !strings.Contains(notFound.ErrorMessage(), "no-such-job") {
		t.Errorf("ResourceNotFoundException message %q does not name the job", notFound.ErrorMessage())
	}

	_, err = client.CreateJob(ctx, &iot.CreateJobInput{JobId: aws.String("sdk-job"), Targets: []string{"dev-1"}, Document: aws.String("{}")})
	var exists *types.ResourceAlreadyExistsException
	if !errors.As(err, &exists) {
		t.Errorf("CreateJob twice: %v (%T), want ResourceAlreadyExistsException", err, err)
	}
}

func TestCreateJobOverHTTPNotifiesAPlainMQTTClient(t *testing.T) {
	emu := testutil.StartEmulator(t)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "watcher-client")
	dev.Subscribe("$aws/things/plain-thing/jobs/notify-next")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := sdkClient(emu).CreateJob(ctx, &iot.CreateJobInput{
		JobId: aws.String("notified"), Targets: []string{"plain-thing"}, Document: aws.String(`{"operation":"reboot"}`),
	}); err != nil {
		t.Fatalf("CreateJob: %v", err)
	}

	m := dev.NextOn("$aws/things/plain-thing/jobs/notify-next")
	var next struct {
		Timestamp int64 `json:"timestamp"`
		Execution struct {
			JobID       string         `json:"jobId"`
			Status      string         `json:"status"`
			JobDocument map[string]any `json:"jobDocument"`
		} `json:"execution"`
	}
	if err := json.Unmarshal(m.Payload, &next); err != nil {
		t.Fatalf("notify-next payload: %v: %s", err, m.Payload)
	}
	if next.Execution.JobID != "notified" || next.Execution.Status != "QUEUED" || next.Execution.JobDocument["operation"] != "reboot" {
		t.Errorf("notify-next = %s", m.Payload)
	}
	if d := time.Since(time.Unix(next.Timestamp, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("notify-next timestamp %d is %s away from now", next.Timestamp, d)
	}
}

// The other operations through the SDK too, so that every route's
// serializer and deserializer has met the emulator.
func TestControlPlaneRemainingOperationsWithTheAWSSDK(t *testing.T) {
	emu := testutil.StartEmulator(t)
	client := sdkClient(emu)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range []string{"a", "b"} {
		if _, err := client.CreateJob(ctx, &iot.CreateJobInput{JobId: aws.String(id), Targets: []string{"dev-1", "dev-2"}, Document: aws.String("{}")}); err != nil {
			t.Fatalf("CreateJob %s: %v", id, err)
		}
	}

	page, err := client.ListJobs(ctx, &iot.ListJobsInput{MaxResults: aws.Int32(1), Status: types.JobStatusInProgress})
	if err != nil || len(page.Jobs) != 1 || aws.ToString(page.Jobs[0].JobId) != "a" || page.NextToken == nil {
		t.Fatalf("ListJobs first page: %+v, %v", page, err)
	}
	near(t, "job summary createdAt", page.Jobs[0].CreatedAt)
	page, err = client.ListJobs(ctx, &iot.ListJobsInput{NextToken: page.NextToken})
	if err != nil || len(page.Jobs) != 1 || aws.ToString(page.Jobs[0].JobId) != "b" || page.NextToken != nil {
		t.Fatalf("ListJobs second page: %+v, %v", page, err)
	}

	forJob, err := client.ListJobExecutionsForJob(ctx, &iot.ListJobExecutionsForJobInput{JobId: aws.String("a"), Status: types.JobExecutionStatusQueued})
	if err != nil || len(forJob.ExecutionSummaries) != 2 || aws.ToString(forJob.ExecutionSummaries[1].ThingArn) != "arn:aws:iot:us-east-1:123456789012:thing/dev-2" {
		t.Fatalf("ListJobExecutionsForJob: %+v, %v", forJob, err)
	}

	canceled, err := client.CancelJob(ctx, &iot.CancelJobInput{JobId: aws.String("a"), Force: true, Comment: aws.String("stop"), ReasonCode: aws.String("STOP")})
	if err != nil || aws.ToString(canceled.JobArn) != "arn:aws:iot:us-east-1:123456789012:job/a" {
		t.Fatalf("CancelJob: %+v, %v", canceled, err)
	}
	described, err := client.DescribeJob(ctx, &iot.DescribeJobInput{JobId: aws.String("a")})
	if err != nil || described.Job.Status != types.JobStatusCanceled || !aws.ToBool(described.Job.ForceCanceled) ||
		aws.ToString(described.Job.Comment) != "stop" || aws.ToInt32(described.Job.JobProcessDetails.NumberOfCanceledThings) != 2 {
		t.Fatalf("DescribeJob after CancelJob: %+v, %v", described.Job, err)
	}
	near(t, "completedAt", described.Job.CompletedAt)

	if _, err := client.DeleteJobExecution(ctx, &iot.DeleteJobExecutionInput{
		JobId: aws.String("a"), ThingName: aws.String("dev-1"), ExecutionNumber: aws.Int64(1),
	}); err != nil {
		t.Fatalf("DeleteJobExecution: %v", err)
	}
	_, err = client.DeleteJob(ctx, &iot.DeleteJobInput{JobId: aws.String("b")})
	var transition *types.InvalidStateTransitionException
	if !errors.As(err, &transition) {
		t.Fatalf("DeleteJob of a job in progress: %v (%T), want InvalidStateTransitionException", err, err)
	}
	for _, id := range []string{"a", "b"} {
		if _, err := client.DeleteJob(ctx, &iot.DeleteJobInput{JobId: aws.String(id), Force: true}); err != nil {
			t.Fatalf("DeleteJob %s: %v", id, err)
		}
	}
	_, err = client.GetJobDocument(ctx, &iot.GetJobDocumentInput{JobId: aws.String("a")})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("GetJobDocument of a deleted job: %v (%T)", err, err)
	}
	_, err = client.ListJobs(ctx, &iot.ListJobsInput{MaxResults: aws.Int32(500)})
	var invalid *types.InvalidRequestException
	if !errors.As(err, &invalid) {
		t.Fatalf("ListJobs with maxResults 500: %v (%T), want InvalidRequestException", err, err)
	}
}
