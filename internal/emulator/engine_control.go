package emulator

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The fake account the emulator's ARNs name.
const (
	Region    = "us-east-1"
	AccountID = "123456789012"
	arnPrefix = "arn:aws:iot:" + Region + ":" + AccountID + ":"
)

// Limits of the control plane, as the AWS IoT API reference gives them.
const (
	MaxListResults    = 250
	maxDescriptionLen = 2028
	maxCommentLen     = 2028
	maxReasonCodeLen  = 128
)

// ThingARN is the ARN of a thing of the emulator's account.
func ThingARN(thing string) string { return arnPrefix + "thing/" + thing }

// JobARN is the ARN of a job of the emulator's account.
func JobARN(jobID string) string { return arnPrefix + "job/" + jobID }

// ErrorKind classifies a control-plane failure the way the AWS IoT
// control plane names its exceptions (ResourceNotFound -> ResourceNotFoundException).
type ErrorKind string

// The control-plane error kinds. InternalFailure is a storage failure.
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
// ApproximateSecondsBeforeTimedOut is in emulated seconds (Minute/60 each).
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
	MaxResults int       // 1..MaxListResults; 0 means MaxListResults
	NextToken  string    // from the previous page
}

// JobSummary is a job as ListJobs lists it: no targets, document or counts.
type JobSummary struct {
	JobID         string
	JobARN        string
	Status        JobStatus
	CreatedAt     time.Time
	LastUpdatedAt time.Time
	CompletedAt   time.Time
}

// ListJobsOutput is one page of jobs, in creation order. NextToken is ""
// on the last page.
type ListJobsOutput struct {
	Jobs      []JobSummary
	NextToken string
}

// ListExecutionsInput filters and pages the ListJobExecutionsFor* methods.
type ListExecutionsInput struct {
	Status     jobs.Status // "" for all
	MaxResults int         // as in ListJobsInput
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

func invalidRequest(format string, args ...any) error {
	return &ServiceError{Kind: InvalidRequest, Message: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &ServiceError{Kind: ResourceNotFound, Message: fmt.Sprintf(format, args...)}
}

// control runs fn as a control-plane writer: alone, with opsMu held
// exclusively, since it may touch the executions of any number of things.
func (e *Engine) control(fn func() error) error {
	e.opsMu.Lock()
	defer e.opsMu.Unlock()
	if e.closed {
		return &ServiceError{Kind: InternalFailure, Message: errClosed.Error()}
	}
	return fn()
}

// commitControl commits a control-plane change; a storage failure becomes
// InternalFailure.
func (e *Engine) commitControl(m *mutation) error {
	if err := e.commit(m); err != nil {
		return &ServiceError{Kind: InternalFailure, Message: "The change could not be stored: " + err.Error()}
	}
	return nil
}

// normaliseTarget accepts a thing name or a thing ARN of any region and
// account, and returns the thing name.
func normaliseTarget(target string) (string, error) {
	name := target
	if strings.HasPrefix(target, "arn:") {
		parts := strings.SplitN(target, ":", 6)
		resource, ok := "", len(parts) == 6 && strings.HasPrefix(parts[1], "aws") && parts[2] == "iot"
		if ok {
			resource = parts[5]
		}
		var found bool
		if name, found = strings.CutPrefix(resource, "thing/"); !found {
			if strings.HasPrefix(resource, "thinggroup/") {
				return "", invalidRequest("target %s: thing groups are not supported by the emulator; list the things", target)
			}
			return "", invalidRequest("target %s is not a thing ARN (arn:aws:iot:REGION:ACCOUNT:thing/NAME)", target)
		}
	}
	if err := jobs.ValidateThingName(name); err != nil {
		return "", invalidRequest("target %s: %v", target, err)
	}
	return name, nil
}

// checkText enforces the API's [^\p{C}]+ strings of at most max characters.
func checkText(field, s string, max int) error {
	switch {
	case utf8.RuneCountInString(s) > max:
		return invalidRequest("%s is longer than %d characters", field, max)
	case !utf8.ValidString(s), strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.C, r) }) >= 0:
		return invalidRequest("%s must be valid UTF-8 without control or format characters", field)
	}
	return nil
}

func checkReasonCode(code string) error {
	if len(code) > maxReasonCodeLen {
		return invalidRequest("reasonCode is longer than %d characters", maxReasonCodeLen)
	}
	for _, r := range code {
		if !unicode.IsUpper(r) && !unicode.IsDigit(r) && r != '_' {
			return invalidRequest("reasonCode may contain only upper-case letters, digits and '_'")
		}
	}
	return nil
}

// CreateJob queues one execution per target (duplicates count once) and
// announces it to each thing.
func (e *Engine) CreateJob(in CreateJobInput) (Job, error) {
	if err := jobs.ValidateJobID(in.JobID); err != nil {
		return Job{}, invalidRequest("%v", err)
	}
	if len(in.Targets) == 0 {
		return Job{}, invalidRequest("targets must name at least one thing")
	}
	things := make([]string, 0, len(in.Targets))
	seen := make(map[string]bool, len(in.Targets))
	for _, target := range in.Targets {
		name, err := normaliseTarget(target)
		if err != nil {
			return Job{}, err
		}
		if !seen[name] {
			seen[name] = true
			things = append(things, name)
		}
	}
	doc := strings.TrimSpace(in.Document)
	switch {
	case len(in.Document) > jobs.MaxJobDocumentBytes:
		return Job{}, invalidRequest("document is %d bytes, the limit is %d", len(in.Document), jobs.MaxJobDocumentBytes)
	case !json.Valid([]byte(doc)) || !strings.HasPrefix(doc, "{"):
		return Job{}, invalidRequest("document must be a JSON object")
	}
	if err := checkText("description", in.Description, maxDescriptionLen); err != nil {
		return Job{}, err
	}
	if t := in.InProgressTimeoutInMinutes; t != 0 && (t < 1 || t > jobs.MaxInProgressTimeout) {
		return Job{}, invalidRequest("inProgressTimeoutInMinutes must be between 1 and %d", jobs.MaxInProgressTimeout)
	}
	var out Job
	err := e.control(func() error {
		e.stateMu.RLock()
		_, exists := e.jobs[in.JobID]
		seq := e.lastSeq + 1
		e.stateMu.RUnlock()
		if exists {
			return &ServiceError{Kind: ResourceAlreadyExists, Message: "A job with id " + in.JobID + " already exists"}
		}
		now := e.now().UnixNano()
		rec := &jobRecord{
			ID: in.JobID, Seq: seq, Targets: things, Document: in.Document, Description: in.Description,
			InProgressTimeout: in.InProgressTimeoutInMinutes, CreatedAt: now, LastUpdatedAt: now,
		}
		m := &mutation{job: rec, execs: make([]execChange, len(things))}
		for i, thing := range things {
			m.execs[i] = execChange{thing: thing, jobID: in.JobID, next: &execRecord{
				JobID: in.JobID, Thing: thing, Status: jobs.StatusQueued, ExecutionNumber: 1, VersionNumber: 1,
				QueuedAt: now, LastUpdatedAt: now,
			}}
		}
		if err := e.commitControl(m); err != nil {
			return err
		}
		out, _ = e.DescribeJob(in.JobID)
		return nil
	})
	return out, err
}

// DescribeJob returns the job.
func (e *Engine) DescribeJob(jobID string) (Job, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	j := e.jobs[jobID]
	if j == nil {
		return Job{}, notFound("No job with id %s", jobID)
	}
	targets := make([]string, len(j.Targets))
	for i, t := range j.Targets {
		targets[i] = ThingARN(t)
	}
	s := j.summary()
	return Job{
		JobID: j.ID, JobARN: s.JobARN, Targets: targets, Document: j.Document, Description: j.Description,
		Status: s.Status, InProgressTimeoutInMinutes: j.InProgressTimeout, ForceCanceled: j.ForceCanceled,
		Comment: j.Comment, ReasonCode: j.ReasonCode,
		CreatedAt: s.CreatedAt, LastUpdatedAt: s.LastUpdatedAt, CompletedAt: s.CompletedAt,
		ProcessDetails: JobProcessDetails{
			NumberOfQueuedThings:     j.counts[jobs.StatusQueued],
			NumberOfInProgressThings: j.counts[jobs.StatusInProgress],
			NumberOfSucceededThings:  j.counts[jobs.StatusSucceeded],
			NumberOfFailedThings:     j.counts[jobs.StatusFailed],
			NumberOfRejectedThings:   j.counts[jobs.StatusRejected],
			NumberOfCanceledThings:   j.counts[jobs.StatusCanceled],
			NumberOfTimedOutThings:   j.counts[jobs.StatusTimedOut],
			NumberOfRemovedThings:    j.counts[jobs.StatusRemoved],
		},
	}, nil
}

func (j *job) summary() JobSummary {
	completed := j.completedAt()
	return JobSummary{
		JobID: j.ID, JobARN: JobARN(j.ID), Status: j.status(), CreatedAt: timeOf(j.CreatedAt),
		LastUpdatedAt: timeOf(max(j.LastUpdatedAt, completed)), CompletedAt: timeOf(completed),
	}
}

// timeOf turns a stored time into a time.Time; unset stays the zero time.
func timeOf(nanos int64) time.Time {
	if nanos == 0 {
		return time.Time{}
	}
	return time.Unix(0, nanos)
}

// GetJobDocument returns the job document text as given to CreateJob.
func (e *Engine) GetJobDocument(jobID string) (string, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	if j := e.jobs[jobID]; j != nil {
		return j.Document, nil
	}
	return "", notFound("No job with id %s", jobID)
}

// page checks MaxResults and applies its default.
func page(maxResults int) (int, error) {
	if maxResults == 0 {
		return MaxListResults, nil
	}
	if maxResults < 1 || maxResults > MaxListResults {
		return 0, invalidRequest("maxResults must be between 1 and %d", MaxListResults)
	}
	return maxResults, nil
}

// seqToken parses a page token that holds a job's creation number.
func seqToken(token string) (uint64, error) {
	if token == "" {
		return 0, nil
	}
	seq, err := strconv.ParseUint(token, 10, 64)
	if err != nil {
		return 0, invalidRequest("nextToken %q is not valid", token)
	}
	return seq, nil
}

// ListJobs lists jobs in creation order. A page token is the creation
// number of the last job listed, so jobs created or deleted between pages
// neither repeat nor shift the others.
func (e *Engine) ListJobs(in ListJobsInput) (ListJobsOutput, error) {
	limit, err := page(in.MaxResults)
	if err != nil {
		return ListJobsOutput{}, err
	}
	after, err := seqToken(in.NextToken)
	if err != nil {
		return ListJobsOutput{}, err
	}
	switch in.Status {
	case "", JobInProgress, JobCanceled, JobDeletionInProgress, JobCompleted:
	default:
		return ListJobsOutput{}, invalidRequest("status %q is not a job status", in.Status)
	}
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	out := ListJobsOutput{Jobs: []JobSummary{}}
	start := sort.Search(len(e.jobList), func(i int) bool { return e.jobList[i].Seq > after })
	var last uint64
	for _, j := range e.jobList[start:] {
		if in.Status != "" && j.status() != in.Status {
			continue
		}
		if len(out.Jobs) == limit {
			out.NextToken = strconv.FormatUint(last, 10)
			break
		}
		out.Jobs = append(out.Jobs, j.summary())
		last = j.Seq
	}
	return out, nil
}

// CancelJob cancels the job's QUEUED executions, and with Force its
// IN_PROGRESS ones too. A job already canceled may be canceled again only to
// force it; a COMPLETED job cannot be canceled.
func (e *Engine) CancelJob(in CancelJobInput) (Job, error) {
	if err := checkText("comment", in.Comment, maxCommentLen); err != nil {
		return Job{}, err
	}
	if err := checkReasonCode(in.ReasonCode); err != nil {
		return Job{}, err
	}
	var out Job
	err := e.control(func() error {
		now := e.now().UnixNano()
		e.stateMu.RLock()
		j := e.jobs[in.JobID]
		var (
			rec     jobRecord
			refusal error
			m       = &mutation{job: &rec}
		)
		switch {
		case j == nil:
			refusal = notFound("No job with id %s", in.JobID)
		case j.status() == JobCompleted:
			refusal = invalidRequest("Job %s is COMPLETED and cannot be canceled", in.JobID)
		case j.Canceled && (!in.Force || j.ForceCanceled):
			refusal = invalidRequest("Job %s is already canceled; only a first forced cancel can follow a cancel", in.JobID)
		default:
			rec = j.jobRecord
			for _, x := range j.execs {
				if x.Status == jobs.StatusQueued || (in.Force && x.Status == jobs.StatusInProgress) {
					m.execs = append(m.execs, execChange{thing: x.Thing, jobID: x.JobID, next: canceled(x.execRecord, in.Force, nil, now)})
				}
			}
		}
		e.stateMu.RUnlock()
		if refusal != nil {
			return refusal
		}
		rec.Canceled = true
		rec.ForceCanceled = rec.ForceCanceled || in.Force
		rec.Comment = cmp.Or(in.Comment, rec.Comment)
		rec.ReasonCode = cmp.Or(in.ReasonCode, rec.ReasonCode)
		rec.CanceledAt = cmp.Or(rec.CanceledAt, now)
		rec.LastUpdatedAt = now
		if err := e.commitControl(m); err != nil {
			return err
		}
		out, _ = e.DescribeJob(in.JobID)
		return nil
	})
	return out, err
}

// canceled is r canceled by the service. versionNumber counts device
// updates only, so it stays.
func canceled(r execRecord, force bool, details map[string]string, now int64) *execRecord {
	r.Status = jobs.StatusCanceled
	r.ForceCanceled = force
	if details != nil {
		r.StatusDetails = details
	}
	r.StepDeadline, r.InProgressDeadline = 0, 0
	r.LastUpdatedAt = now
	return &r
}

// DeleteJob deletes the job and all its executions. Without force the job
// must be COMPLETED or CANCELED.
func (e *Engine) DeleteJob(jobID string, force bool) error {
	return e.control(func() error {
		e.stateMu.RLock()
		j := e.jobs[jobID]
		var m *mutation
		if j != nil && (force || j.status() != JobInProgress) {
			m = &mutation{job: &j.jobRecord, deleteJob: true, execs: make([]execChange, len(j.execs))}
			for i, x := range j.execs {
				m.execs[i] = execChange{thing: x.Thing, jobID: jobID}
			}
		}
		e.stateMu.RUnlock()
		switch {
		case j == nil:
			return notFound("No job with id %s", jobID)
		case m == nil:
			return &ServiceError{Kind: InvalidStateTransition, Message: "Job " + jobID + " is IN_PROGRESS; cancel it first or delete it with force"}
		}
		return e.commitControl(m)
	})
}

// executionView is x as the control plane shows it; stateMu is held.
func (e *Engine) executionView(x *execution, now int64) Execution {
	v := Execution{
		JobID: x.JobID, ThingName: x.Thing, ThingARN: ThingARN(x.Thing), Status: x.Status,
		ForceCanceled: x.ForceCanceled, StatusDetails: maps.Clone(x.StatusDetails),
		QueuedAt: timeOf(x.QueuedAt), StartedAt: timeOf(x.StartedAt), LastUpdatedAt: timeOf(x.LastUpdatedAt),
		ExecutionNumber: x.ExecutionNumber, VersionNumber: x.VersionNumber,
	}
	if d := x.deadline(); d > now {
		v.ApproximateSecondsBeforeTimedOut = int64(math.Ceil(float64(d-now) / float64(e.minute) * 60))
	}
	return v
}

// listExecutions pages xs, which are sorted by token: a page token is the
// token of the last execution listed, so changes between pages neither
// repeat nor shift the others. stateMu is held.
func (e *Engine) listExecutions(xs []*execution, in ListExecutionsInput, token func(*execution) string) (ListExecutionsOutput, error) {
	limit, err := page(in.MaxResults)
	if err != nil {
		return ListExecutionsOutput{}, err
	}
	if in.Status != "" && !in.Status.Known() {
		return ListExecutionsOutput{}, invalidRequest("status %q is not an execution status", in.Status)
	}
	now := e.now().UnixNano()
	out := ListExecutionsOutput{Executions: []Execution{}}
	start := 0
	if in.NextToken != "" {
		start = sort.Search(len(xs), func(i int) bool { return token(xs[i]) > in.NextToken })
	}
	var last *execution
	for _, x := range xs[start:] {
		if in.Status != "" && x.Status != in.Status {
			continue
		}
		if len(out.Executions) == limit {
			out.NextToken = token(last)
			break
		}
		out.Executions = append(out.Executions, e.executionView(x, now))
		last = x
	}
	return out, nil
}

// ListJobExecutionsForJob lists the job's executions by thing name.
func (e *Engine) ListJobExecutionsForJob(jobID string, in ListExecutionsInput) (ListExecutionsOutput, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	j := e.jobs[jobID]
	if j == nil {
		return ListExecutionsOutput{}, notFound("No job with id %s", jobID)
	}
	return e.listExecutions(j.execs, in, func(x *execution) string { return x.Thing })
}

// ListJobExecutionsForThing lists the thing's executions in job creation
// order. A thing the emulator has no execution for has an empty list, as
// the emulator keeps no registry of things.
func (e *Engine) ListJobExecutionsForThing(thing string, in ListExecutionsInput) (ListExecutionsOutput, error) {
	if err := jobs.ValidateThingName(thing); err != nil {
		return ListExecutionsOutput{}, invalidRequest("%v", err)
	}
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	var xs []*execution
	if ts := e.things[thing]; ts != nil {
		xs = slices.Collect(maps.Values(ts.execs))
	}
	slices.SortFunc(xs, func(a, b *execution) int { return cmp.Compare(a.job.Seq, b.job.Seq) })
	return e.listExecutions(xs, in, func(x *execution) string { return fmt.Sprintf("%020d", x.job.Seq) })
}

// findExecution is the execution the control plane names; executionNumber
// nil means the latest. stateMu is held.
func (e *Engine) findExecution(jobID, thing string, executionNumber *int64) (*execution, error) {
	if ts := e.things[thing]; ts != nil {
		if x := ts.execs[jobID]; x != nil && (executionNumber == nil || *executionNumber == x.ExecutionNumber) {
			return x, nil
		}
	}
	if e.jobs[jobID] == nil {
		return nil, notFound("No job with id %s", jobID)
	}
	return nil, notFound("No execution of job %s on thing %s", jobID, thing)
}

// DescribeJobExecution returns one execution, terminal or not.
func (e *Engine) DescribeJobExecution(jobID, thing string, executionNumber *int64) (Execution, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	x, err := e.findExecution(jobID, thing, executionNumber)
	if err != nil {
		return Execution{}, err
	}
	return e.executionView(x, e.now().UnixNano()), nil
}

// CancelJobExecution cancels a QUEUED execution, and with Force an
// IN_PROGRESS one. Given statusDetails replace the stored ones.
func (e *Engine) CancelJobExecution(in CancelJobExecutionInput) error {
	if err := jobs.ValidateStatusDetails(in.StatusDetails); err != nil {
		return invalidRequest("%v", err)
	}
	if err := jobs.CheckStatusDetailsCount(in.StatusDetails); err != nil {
		return invalidRequest("%v", err)
	}
	return e.control(func() error {
		now := e.now().UnixNano()
		e.stateMu.RLock()
		x, err := e.findExecution(in.JobID, in.ThingName, nil)
		var cur execRecord
		if x != nil {
			cur = x.execRecord
		}
		e.stateMu.RUnlock()
		switch {
		case err != nil:
			return err
		case in.ExpectedVersion != nil && *in.ExpectedVersion != cur.VersionNumber:
			return &ServiceError{Kind: VersionConflict, Message: fmt.Sprintf("expectedVersion %d does not match the current versionNumber %d", *in.ExpectedVersion, cur.VersionNumber)}
		case cur.Status.Terminal():
			return &ServiceError{Kind: InvalidStateTransition, Message: fmt.Sprintf("The execution is in terminal state %s", cur.Status)}
		case cur.Status == jobs.StatusInProgress && !in.Force:
			return &ServiceError{Kind: InvalidStateTransition, Message: "The execution is IN_PROGRESS; cancel it with force"}
		}
		return e.commitControl(&mutation{execs: []execChange{{thing: in.ThingName, jobID: in.JobID, next: canceled(cur, in.Force, in.StatusDetails, now)}}})
	})
}

// DeleteJobExecution deletes one execution. Without force it must be
// terminal; a device asking about it afterwards gets ResourceNotFound.
func (e *Engine) DeleteJobExecution(jobID, thing string, executionNumber int64, force bool) error {
	return e.control(func() error {
		e.stateMu.RLock()
		x, err := e.findExecution(jobID, thing, &executionNumber)
		pending := x != nil && x.Status.Pending()
		e.stateMu.RUnlock()
		switch {
		case err != nil:
			return err
		case pending && !force:
			return &ServiceError{Kind: InvalidStateTransition, Message: "The execution is not in a terminal state; delete it with force"}
		}
		return e.commitControl(&mutation{execs: []execChange{{thing: thing, jobID: jobID}}})
	})
}
