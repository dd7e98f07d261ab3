package emulator

import (
	"time"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The fake account the emulator's ARNs name.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
)

// ErrorKind classifies a control-plane failure the way the AWS IoT
// control plane names its exceptions (ResourceNotFound -> ResourceNotFoundException).
type ErrorKind string

// The control-plane error kinds.
const (
	ResourceNotFound       ErrorKind = "ResourceNotFound"
	InvalidRequest         ErrorKind = "InvalidRequest"
	ResourceAlreadyExists  ErrorKind = "ResourceAlreadyExists"
	InvalidStateTransition ErrorKind = "InvalidStateTransition"
	VersionConflict        ErrorKind = "VersionConflict"
	InternalFailure        ErrorKind = "InternalFailure"
)

// ServiceError is the error of every control-plane method.
type ServiceError struct {
	Kind    ErrorKind
	Message string
}

func (e *ServiceError) Error() string { return string(e.Kind) + ": " + e.Message }

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

// Job is a job as the control plane describes it.
type Job struct {
	JobID       string
	JobARN      string
	Targets     []string // thing ARNs, in the order given at creation
	Document    string   // the document text as given
	Description string
	Status      JobStatus
	// InProgressTimeoutInMinutes is 0 when the job has no in-progress timer.
	InProgressTimeoutInMinutes int64
	ForceCanceled              bool
	Comment                    string
	ReasonCode                 string
	CreatedAt                  time.Time
	LastUpdatedAt              time.Time
	CompletedAt                time.Time // zero until COMPLETED or CANCELED
	ProcessDetails             JobProcessDetails
}

// JobProcessDetails counts the job's executions per status.
type JobProcessDetails struct {
	NumberOfQueuedThings     int
	NumberOfInProgressThings int
	NumberOfSucceededThings  int
	NumberOfFailedThings     int
	NumberOfRejectedThings   int
	NumberOfCanceledThings   int
	NumberOfTimedOutThings   int
	NumberOfRemovedThings    int
}

// Execution is a job execution as the control plane describes it.
type Execution struct {
	JobID           string
	ThingName       string
	ThingARN        string
	Status          jobs.Status
	ForceCanceled   bool
	StatusDetails   map[string]string
	QueuedAt        time.Time
	StartedAt       time.Time // zero until started
	LastUpdatedAt   time.Time
	ExecutionNumber int64
	VersionNumber   int64
	// ApproximateSecondsBeforeTimedOut is 0 when no timer runs.
	ApproximateSecondsBeforeTimedOut int64
}

// CreateJobInput is the input of CreateJob.
type CreateJobInput struct {
	JobID string
	// Targets are thing names or thing ARNs (arn:aws:iot:REGION:ACCOUNT:thing/NAME).
	Targets     []string
	Document    string
	Description string
	// InProgressTimeoutInMinutes is 0 for no in-progress timer, else 1..10080.
	InProgressTimeoutInMinutes int64
}

// ListJobsInput filters and pages ListJobs.
type ListJobsInput struct {
	Status     JobStatus // "" for all
	MaxResults int       // 0 means the default
	NextToken  string
}

// ListJobsOutput is one page of jobs, in creation order.
type ListJobsOutput struct {
	Jobs      []Job
	NextToken string
}

// ListExecutionsInput filters and pages the ListJobExecutionsFor* methods.
type ListExecutionsInput struct {
	Status     jobs.Status // "" for all
	MaxResults int
	NextToken  string
}

// ListExecutionsOutput is one page of executions.
type ListExecutionsOutput struct {
	Executions []Execution
	NextToken  string
}

// CancelJobInput is the input of CancelJob.
type CancelJobInput struct {
	JobID      string
	Force      bool
	Comment    string
	ReasonCode string
}

// CancelJobExecutionInput is the input of CancelJobExecution.
type CancelJobExecutionInput struct {
	JobID           string
	ThingName       string
	Force           bool
	ExpectedVersion *int64
	StatusDetails   map[string]string
}

// CreateJob queues one execution per target.
func (e *Engine) CreateJob(in CreateJobInput) (Job, error) { return Job{}, nil }

// DescribeJob returns the job.
func (e *Engine) DescribeJob(jobID string) (Job, error) { return Job{}, nil }

// GetJobDocument returns the job document text.
func (e *Engine) GetJobDocument(jobID string) (string, error) { return "", nil }

// ListJobs lists jobs in creation order.
func (e *Engine) ListJobs(in ListJobsInput) (ListJobsOutput, error) { return ListJobsOutput{}, nil }

// CancelJob cancels the job.
func (e *Engine) CancelJob(in CancelJobInput) (Job, error) { return Job{}, nil }

// DeleteJob deletes the job and its executions.
func (e *Engine) DeleteJob(jobID string, force bool) error { return nil }

// ListJobExecutionsForJob lists the job's executions by thing name.
func (e *Engine) ListJobExecutionsForJob(jobID string, in ListExecutionsInput) (ListExecutionsOutput, error) {
	return ListExecutionsOutput{}, nil
}

// ListJobExecutionsForThing lists the thing's executions in queue order.
func (e *Engine) ListJobExecutionsForThing(thing string, in ListExecutionsInput) (ListExecutionsOutput, error) {
	return ListExecutionsOutput{}, nil
}

// DescribeJobExecution returns one execution; executionNumber nil means the latest.
func (e *Engine) DescribeJobExecution(jobID, thing string, executionNumber *int64) (Execution, error) {
	return Execution{}, nil
}

// CancelJobExecution cancels one execution.
func (e *Engine) CancelJobExecution(in CancelJobExecutionInput) error { return nil }

// DeleteJobExecution deletes one execution.
func (e *Engine) DeleteJobExecution(jobID, thing string, executionNumber int64, force bool) error {
	return nil
}
