package iotapi

import "github.com/iotjobs/iotjobs/internal/jobs"

// JobStatus is the status of a job (not of an execution).
type JobStatus string

// The job statuses. Deletion is synchronous in the emulator, so
// DELETION_IN_PROGRESS is only ever a ListJobs filter that matches nothing.
const (
	JobInProgress         JobStatus = "IN_PROGRESS"
	JobCanceled           JobStatus = "CANCELED"
	JobDeletionInProgress JobStatus = "DELETION_IN_PROGRESS"
	JobCompleted          JobStatus = "COMPLETED"
)

// JobStatuses are the job statuses, in the order of a job's life.
var JobStatuses = []JobStatus{JobInProgress, JobCanceled, JobCompleted, JobDeletionInProgress}

// Known reports whether s is a job status.
func (s JobStatus) Known() bool {
	switch s {
	case JobInProgress, JobCanceled, JobDeletionInProgress, JobCompleted:
		return true
	}
	return false
}

// The target selections of a job: a SNAPSHOT job's things are resolved
// when it is created, a CONTINUOUS job follows its groups.
const (
	TargetSelectionSnapshot   = "SNAPSHOT"
	TargetSelectionContinuous = "CONTINUOUS"
)

// TimeoutConfig is a job's in-progress timer.
type TimeoutConfig struct {
	InProgressTimeoutInMinutes *int64 `json:"inProgressTimeoutInMinutes,omitempty"`
}

// CreateJobInput is CreateJob's: PUT /jobs/{jobId}. Targets are thing names
// or thing and thing group ARNs. The emulator refuses the members it has no
// behaviour for; they are not listed here.
type CreateJobInput struct {
	JobID                      string                      `json:"-"`
	Targets                    []string                    `json:"targets"`
	Document                   string                      `json:"document"`
	Description                string                      `json:"description,omitempty"`
	TargetSelection            string                      `json:"targetSelection,omitempty"`
	TimeoutConfig              *TimeoutConfig              `json:"timeoutConfig,omitempty"`
	JobExecutionsRolloutConfig *JobExecutionsRolloutConfig `json:"jobExecutionsRolloutConfig,omitempty"`
	AbortConfig                *AbortConfig                `json:"abortConfig,omitempty"`
	JobExecutionsRetryConfig   *JobExecutionsRetryConfig   `json:"jobExecutionsRetryConfig,omitempty"`
}

// JobRef is the output of CreateJob and CancelJob.
type JobRef struct {
	JobArn      string `json:"jobArn"`
	JobID       string `json:"jobId"`
	Description string `json:"description,omitempty"`
}

// Job is a job as DescribeJob describes it.
type Job struct {
	JobArn          string    `json:"jobArn"`
	JobID           string    `json:"jobId"`
	TargetSelection string    `json:"targetSelection"`
	Status          JobStatus `json:"status"`
	// ForceCanceled is sent only on CANCELED jobs, where false says
	// something.
	ForceCanceled     *bool             `json:"forceCanceled,omitempty"`
	ReasonCode        string            `json:"reasonCode,omitempty"`
	Comment           string            `json:"comment,omitempty"`
	Targets           []string          `json:"targets"` // thing ARNs, in the order given
	Description       string            `json:"description,omitempty"`
	CreatedAt         EpochSeconds      `json:"createdAt,omitzero"`
	LastUpdatedAt     EpochSeconds      `json:"lastUpdatedAt,omitzero"`
	CompletedAt       EpochSeconds      `json:"completedAt,omitzero"`
	JobProcessDetails JobProcessDetails `json:"jobProcessDetails"`
	TimeoutConfig     *TimeoutConfig    `json:"timeoutConfig,omitempty"`
	// IsConcurrent is true while executions are still to be created.
	IsConcurrent               bool                        `json:"isConcurrent"`
	JobExecutionsRolloutConfig *JobExecutionsRolloutConfig `json:"jobExecutionsRolloutConfig,omitempty"`
	AbortConfig                *AbortConfig                `json:"abortConfig,omitempty"`
	JobExecutionsRetryConfig   *JobExecutionsRetryConfig   `json:"jobExecutionsRetryConfig,omitempty"`
}

// JobProcessDetails counts a job's things per status of their latest
// execution.
type JobProcessDetails struct {
	NumberOfCanceledThings   int `json:"numberOfCanceledThings"`
	NumberOfSucceededThings  int `json:"numberOfSucceededThings"`
	NumberOfFailedThings     int `json:"numberOfFailedThings"`
	NumberOfRejectedThings   int `json:"numberOfRejectedThings"`
	NumberOfQueuedThings     int `json:"numberOfQueuedThings"`
	NumberOfInProgressThings int `json:"numberOfInProgressThings"`
	NumberOfRemovedThings    int `json:"numberOfRemovedThings"`
	NumberOfTimedOutThings   int `json:"numberOfTimedOutThings"`
}

// DescribeJobOutput is DescribeJob's: GET /jobs/{jobId}.
type DescribeJobOutput struct {
	Job Job `json:"job"`
}

// GetJobDocumentOutput is GetJobDocument's: GET /jobs/{jobId}/job-document.
type GetJobDocumentOutput struct {
	Document string `json:"document"`
}

// ListJobsInput filters and pages ListJobs: GET /jobs, all in the query.
type ListJobsInput struct {
	Status          JobStatus // "" for all
	TargetSelection string    // "" for all
	MaxResults      int       // 0 means MaxListResults
	NextToken       string    // from the previous page
}

// JobSummary is a job as ListJobs lists it.
type JobSummary struct {
	JobArn          string       `json:"jobArn"`
	JobID           string       `json:"jobId"`
	TargetSelection string       `json:"targetSelection"`
	Status          JobStatus    `json:"status"`
	CreatedAt       EpochSeconds `json:"createdAt,omitzero"`
	LastUpdatedAt   EpochSeconds `json:"lastUpdatedAt,omitzero"`
	CompletedAt     EpochSeconds `json:"completedAt,omitzero"`
}

// ListJobsOutput is one page of jobs, in creation order; NextToken is ""
// on the last page.
type ListJobsOutput struct {
	Jobs      []JobSummary `json:"jobs"`
	NextToken string       `json:"nextToken,omitempty"`
}

// CancelJobInput is CancelJob's: PUT /jobs/{jobId}/cancel?force=.
type CancelJobInput struct {
	JobID      string `json:"-"`
	Force      bool   `json:"-"`
	Comment    string `json:"comment,omitempty"`
	ReasonCode string `json:"reasonCode,omitempty"`
}

// DeleteJobInput is DeleteJob's: DELETE /jobs/{jobId}?force=.
type DeleteJobInput struct {
	JobID string
	Force bool
}

// ListExecutionsInput filters and pages ListJobExecutionsForJob (GET
// /jobs/{jobId}/things) and ListJobExecutionsForThing (GET
// /things/{thingName}/jobs): the job or the thing is in the path, the rest
// in the query.
type ListExecutionsInput struct {
	JobID      string      // ForJob
	ThingName  string      // ForThing
	Status     jobs.Status // "" for all
	MaxResults int         // 0 means MaxListResults
	NextToken  string
}

// JobExecutionSummary is an execution as the list operations list it.
type JobExecutionSummary struct {
	Status          jobs.Status  `json:"status"`
	QueuedAt        EpochSeconds `json:"queuedAt,omitzero"`
	StartedAt       EpochSeconds `json:"startedAt,omitzero"`
	LastUpdatedAt   EpochSeconds `json:"lastUpdatedAt,omitzero"`
	ExecutionNumber int64        `json:"executionNumber"`
}

// JobExecutionSummaryForJob is an entry of ListJobExecutionsForJob.
type JobExecutionSummaryForJob struct {
	ThingArn            string              `json:"thingArn"`
	JobExecutionSummary JobExecutionSummary `json:"jobExecutionSummary"`
}

// JobExecutionSummaryForThing is an entry of ListJobExecutionsForThing.
type JobExecutionSummaryForThing struct {
	JobID               string              `json:"jobId"`
	JobExecutionSummary JobExecutionSummary `json:"jobExecutionSummary"`
}

// ListJobExecutionsForJobOutput is one page, by thing name.
type ListJobExecutionsForJobOutput struct {
	ExecutionSummaries []JobExecutionSummaryForJob `json:"executionSummaries"`
	NextToken          string                      `json:"nextToken,omitempty"`
}

// ListJobExecutionsForThingOutput is one page, in job creation order.
type ListJobExecutionsForThingOutput struct {
	ExecutionSummaries []JobExecutionSummaryForThing `json:"executionSummaries"`
	NextToken          string                        `json:"nextToken,omitempty"`
}

// DescribeJobExecutionInput is DescribeJobExecution's: GET
// /things/{thingName}/jobs/{jobId}?executionNumber=.
type DescribeJobExecutionInput struct {
	JobID     string
	ThingName string
	// ExecutionNumber is nil for the latest.
	ExecutionNumber *int64
}

// JobExecution is an execution as DescribeJobExecution describes it.
type JobExecution struct {
	JobID  string      `json:"jobId"`
	Status jobs.Status `json:"status"`
	// ForceCanceled is sent only on CANCELED executions.
	ForceCanceled   *bool          `json:"forceCanceled,omitempty"`
	StatusDetails   *StatusDetails `json:"statusDetails,omitempty"`
	ThingArn        string         `json:"thingArn"`
	QueuedAt        EpochSeconds   `json:"queuedAt,omitzero"`
	StartedAt       EpochSeconds   `json:"startedAt,omitzero"`
	LastUpdatedAt   EpochSeconds   `json:"lastUpdatedAt,omitzero"`
	ExecutionNumber int64          `json:"executionNumber"`
	VersionNumber   int64          `json:"versionNumber"`
	// ApproximateSecondsBeforeTimedOut is sent while a timer runs.
	ApproximateSecondsBeforeTimedOut int64 `json:"approximateSecondsBeforeTimedOut,omitempty"`
}

// StatusDetails wraps an execution's statusDetails on the control plane.
type StatusDetails struct {
	DetailsMap map[string]string `json:"detailsMap"`
}

// DescribeJobExecutionOutput is DescribeJobExecution's.
type DescribeJobExecutionOutput struct {
	Execution JobExecution `json:"execution"`
}

// CancelJobExecutionInput is CancelJobExecution's: PUT
// /things/{thingName}/jobs/{jobId}/cancel?force=. Given statusDetails
// replace the stored ones.
type CancelJobExecutionInput struct {
	JobID           string            `json:"-"`
	ThingName       string            `json:"-"`
	Force           bool              `json:"-"`
	ExpectedVersion *int64            `json:"expectedVersion,omitempty"`
	StatusDetails   map[string]string `json:"statusDetails,omitempty"`
}

// DeleteJobExecutionInput is DeleteJobExecution's: DELETE
// /things/{thingName}/jobs/{jobId}/executionNumber/{executionNumber}?force=.
type DeleteJobExecutionInput struct {
	JobID           string
	ThingName       string
	ExecutionNumber int64
	Force           bool
}
