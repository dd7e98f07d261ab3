package engine

import (
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The Jobs events of AWS IoT (developer guide, "Jobs events"), published on
// $aws/events/job/JOB_ID/OPERATION and $aws/events/jobExecution/JOB_ID/OPERATION
// when their type is enabled (UpdateEventConfigurations). The member names
// are those of the guide's example payloads; like them, `timestamp` is in
// epoch seconds and the job's times in epoch milliseconds.

// The operations of the job events, the last level of their topics.
const (
	opCompleted              = "completed"
	opCanceled               = "canceled"
	opDeleted                = "deleted"
	opCancellationInProgress = "cancellation_in_progress"
	opDeletionInProgress     = "deletion_in_progress"
)

// eventHeader is what every event carries.
type eventHeader struct {
	EventType string `json:"eventType"`
	EventID   string `json:"eventId"`
	Timestamp int64  `json:"timestamp"`
	Operation string `json:"operation"`
	JobID     string `json:"jobId"`
}

// jobEvent is a message on $aws/events/job/JOB_ID/OPERATION.
type jobEvent struct {
	eventHeader
	Status            string        `json:"status"`
	ForceCanceled     *bool         `json:"forceCanceled,omitempty"` // canceled only
	TargetSelection   string        `json:"targetSelection"`
	Targets           []string      `json:"targets"`
	Description       string        `json:"description,omitempty"`
	CompletedAt       int64         `json:"completedAt,omitempty"` // completed only
	CreatedAt         int64         `json:"createdAt"`
	LastUpdatedAt     int64         `json:"lastUpdatedAt"`
	Comment           string        `json:"comment,omitempty"`
	JobProcessDetails *eventProcess `json:"jobProcessDetails,omitempty"` // completed and canceled only
}

// eventProcess is jobProcessDetails as the guide's examples show it: the
// counts of the terminal statuses.
type eventProcess struct {
	NumberOfCanceledThings  int `json:"numberOfCanceledThings"`
	NumberOfRejectedThings  int `json:"numberOfRejectedThings"`
	NumberOfFailedThings    int `json:"numberOfFailedThings"`
	NumberOfRemovedThings   int `json:"numberOfRemovedThings"`
	NumberOfSucceededThings int `json:"numberOfSucceededThings"`
	NumberOfTimedOutThings  int `json:"numberOfTimedOutThings"`
}

// executionEvent is a message on $aws/events/jobExecution/JOB_ID/OPERATION.
type executionEvent struct {
	eventHeader
	ThingArn      string            `json:"thingArn"`
	Status        jobs.Status       `json:"status"`
	StatusDetails map[string]string `json:"statusDetails,omitempty"`
}

// renderAWSEvents is the subscriber that turns the events of a commit into
// the Jobs events of the types enabled when it renders them. A commit that
// cancels or deletes a job yields cancellation_in_progress or
// deletion_in_progress first, then the events of its executions, then
// canceled or deleted: AWS sends the two messages for the start and the end
// of the request, which the emulator carries out at once.
func (e *Engine) renderAWSEvents(send func(Message)) func([]Event) {
	return func(events []Event) {
		jobsOn := e.EventsEnabled(iotapi.EventTypeJob)
		execsOn := e.EventsEnabled(iotapi.EventTypeJobExecution)
		if !jobsOn && !execsOn {
			return
		}
		if jobsOn {
			for _, ev := range events {
				if j, ok := ev.(JobChanged); ok {
					if op := inProgressOperation(j); op != "" {
						send(jobEventMessage(j, op))
					}
				}
			}
		}
		for _, ev := range events {
			switch ev := ev.(type) {
			case ExecutionChanged:
				if execsOn {
					if m, ok := executionEventMessage(ev); ok {
						send(m)
					}
				}
			case JobChanged:
				if op := finalOperation(ev); jobsOn && op != "" {
					send(jobEventMessage(ev, op))
				}
			}
		}
	}
}

// inProgressOperation is the operation announcing the start of the
// request that made j, "" for none.
func inProgressOperation(j JobChanged) string {
	switch {
	case j.Deleted:
		return opDeletionInProgress
	case j.Status == iotapi.JobCanceled:
		return opCancellationInProgress
	}
	return ""
}

// finalOperation is the operation of the job event j makes, "" for none.
func finalOperation(j JobChanged) string {
	switch {
	case j.Deleted:
		return opDeleted
	case j.Status == iotapi.JobCanceled:
		return opCanceled
	case j.Status == iotapi.JobCompleted:
		return opCompleted
	}
	return ""
}

func header(eventType, op, jobID string, at time.Time) eventHeader {
	return eventHeader{EventType: eventType, EventID: uuid.NewString(), Timestamp: at.Unix(), Operation: op, JobID: jobID}
}

// jobEventMessage is the job event of operation op for j.
func jobEventMessage(j JobChanged, op string) Message {
	job := j.Job
	msg := jobEvent{
		eventHeader:     header(iotapi.EventTypeJob, op, j.JobID, j.At),
		Status:          strings.ToUpper(op),
		TargetSelection: job.TargetSelection,
		Targets:         job.Targets,
		Description:     job.Description,
		CreatedAt:       job.CreatedAt.UnixMilli(),
		LastUpdatedAt:   job.LastUpdatedAt.UnixMilli(),
		Comment:         job.Comment,
	}
	if op == opCompleted {
		msg.CompletedAt = job.CompletedAt.UnixMilli()
	}
	if op == opCompleted || op == opCanceled {
		d := job.JobProcessDetails
		msg.JobProcessDetails = &eventProcess{
			NumberOfCanceledThings: d.NumberOfCanceledThings, NumberOfRejectedThings: d.NumberOfRejectedThings,
			NumberOfFailedThings: d.NumberOfFailedThings, NumberOfRemovedThings: d.NumberOfRemovedThings,
			NumberOfSucceededThings: d.NumberOfSucceededThings, NumberOfTimedOutThings: d.NumberOfTimedOutThings,
		}
	}
	if op == opCanceled {
		msg.ForceCanceled = job.ForceCanceled
	}
	body, _ := jobs.Encode(msg)
	return Message{Topic: "$aws/events/job/" + j.JobID + "/" + op, Payload: body}
}

// executionEventMessage is the execution event x makes, if any: one for an
// execution that reached a terminal status, and one for an execution
// deleted (by DeleteJobExecution or with its job), whose status is the one
// it had, as AWS documents.
func executionEventMessage(x ExecutionChanged) (Message, bool) {
	var (
		op    string
		state *jobs.JobExecutionState
	)
	switch {
	case x.After == nil && x.Before != nil:
		op, state = opDeleted, x.Before
	case x.After != nil && x.After.Status.Terminal() && (x.Before == nil || x.Before.Status != x.After.Status):
		op, state = strings.ToLower(string(x.After.Status)), x.After
	default:
		return Message{}, false
	}
	body, _ := jobs.Encode(executionEvent{
		eventHeader: header(iotapi.EventTypeJobExecution, op, x.JobID, x.At),
		ThingArn:    iotapi.ThingARN(x.Thing), Status: state.Status, StatusDetails: state.StatusDetails,
	})
	return Message{Topic: "$aws/events/jobExecution/" + x.JobID + "/" + op, Payload: body}, true
}
