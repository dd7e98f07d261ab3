package engine

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The control-plane operations take and return the shapes of
// internal/iotapi, which the HTTP control plane sends as they are.

func invalidRequest(format string, args ...any) error {
	return iotapi.Errorf(iotapi.InvalidRequest, format, args...)
}

func notFound(format string, args ...any) error {
	return iotapi.Errorf(iotapi.ResourceNotFound, format, args...)
}

// control runs fn as a control-plane writer: alone, with opsMu held
// exclusively, since it may touch the executions of any number of things.
func (e *Engine) control(fn func() error) error {
	e.opsMu.Lock()
	defer e.opsMu.Unlock()
	if e.closed {
		return &iotapi.ServiceError{Kind: iotapi.InternalFailure, Message: errClosed.Error()}
	}
	return fn()
}

// controlPlan runs plan as a control-plane writer, with stateMu held for
// reading, and commits the mutation it returns, if any.
func (e *Engine) controlPlan(plan func(now time.Time) (*mutation, error)) error {
	return e.control(func() error {
		now := e.clock.Now()
		e.stateMu.RLock()
		m, err := plan(now)
		e.stateMu.RUnlock()
		if m == nil || err != nil {
			return err
		}
		return e.commitControl(m)
	})
}

// closedError reports whether err is what a writer meets after Close.
func closedError(err error) bool {
	var se *iotapi.ServiceError
	return errors.Is(err, errClosed) || (errors.As(err, &se) && se.Message == errClosed.Error())
}

// commitControl commits a control-plane change; a storage failure becomes
// InternalFailure.
func (e *Engine) commitControl(m *mutation) error {
	if err := e.commit(m); err != nil {
		return &iotapi.ServiceError{Kind: iotapi.InternalFailure, Message: "The change could not be stored: " + err.Error()}
	}
	return nil
}

// CreateJob queues one execution per target thing (duplicates count once),
// the members of its target groups included, as its rollout allows, and
// announces each to its thing.
func (e *Engine) CreateJob(in iotapi.CreateJobInput) (iotapi.Job, error) {
	if err := jobs.ValidateJobID(in.JobID); err != nil {
		return iotapi.Job{}, invalidRequest("%v", err)
	}
	if len(in.Targets) == 0 {
		return iotapi.Job{}, invalidRequest("targets must name at least one thing or thing group")
	}
	var things, groups []string
	seen := make(map[iotapi.Target]bool, len(in.Targets))
	for _, target := range in.Targets {
		tg, err := iotapi.ParseTarget(target)
		if err != nil {
			return iotapi.Job{}, err
		}
		switch {
		case seen[tg]:
		case tg.Group != "":
			groups = append(groups, tg.Group)
		default:
			things = append(things, tg.Thing)
		}
		seen[tg] = true
	}
	selection := ""
	switch in.TargetSelection {
	case "", iotapi.TargetSelectionSnapshot:
	case iotapi.TargetSelectionContinuous:
		selection = iotapi.TargetSelectionContinuous
	default:
		return iotapi.Job{}, invalidRequest("targetSelection must be SNAPSHOT or CONTINUOUS, got %q", in.TargetSelection)
	}
	if err := iotapi.CheckDocument(in.Document); err != nil {
		return iotapi.Job{}, err
	}
	if err := iotapi.CheckText("description", in.Description, iotapi.MaxDescriptionLen); err != nil {
		return iotapi.Job{}, err
	}
	var inProgressTimeout int64 // 0: no in-progress timer
	if in.TimeoutConfig != nil && in.TimeoutConfig.InProgressTimeoutInMinutes != nil {
		inProgressTimeout = *in.TimeoutConfig.InProgressTimeoutInMinutes
		if err := iotapi.CheckInProgressTimeout(inProgressTimeout); err != nil {
			return iotapi.Job{}, err
		}
	}
	if err := checkConfigs(in); err != nil {
		return iotapi.Job{}, err
	}
	var out iotapi.Job
	err := e.control(func() error {
		now := e.clock.Now()
		rec := &store.JobRecord{
			ID: in.JobID, Targets: things, Groups: groups, TargetSelection: selection, Document: in.Document, Description: in.Description,
			InProgressTimeout: inProgressTimeout, CreatedAt: now.UnixNano(), LastUpdatedAt: now.UnixNano(),
			Rollout: in.JobExecutionsRolloutConfig, Abort: in.AbortConfig, Retry: in.JobExecutionsRetryConfig,
		}
		m := &mutation{jobs: []*store.JobRecord{rec}}
		e.stateMu.RLock()
		_, exists := e.jobs[in.JobID]
		rec.Seq = e.lastSeq + 1
		var refusal error
		if exists {
			refusal = &iotapi.ServiceError{Kind: iotapi.ResourceAlreadyExists, Message: "A job with id " + in.JobID + " already exists"}
		} else {
			rec.Waiting, refusal = e.resolveLocked(things, groups)
		}
		if refusal == nil {
			e.releaseLocked(rec, 0, true, now, m)
		}
		e.stateMu.RUnlock()
		if refusal != nil {
			return refusal
		}
		if err := e.commitControl(m); err != nil {
			return err
		}
		out, _ = e.DescribeJob(in.JobID)
		return nil
	})
	return out, err
}

// checkConfigs checks the rollout, abort and retry configurations given.
func checkConfigs(in iotapi.CreateJobInput) error {
	if c := in.JobExecutionsRolloutConfig; c != nil {
		if err := c.Check(); err != nil {
			return err
		}
	}
	if c := in.AbortConfig; c != nil {
		if err := c.Check(); err != nil {
			return err
		}
	}
	if c := in.JobExecutionsRetryConfig; c != nil {
		return c.Check()
	}
	return nil
}

// resolveLocked lists the things a job reaches: its things, then the
// members of its groups, each once. A group that does not exist is
// ResourceNotFound. stateMu is held.
func (e *Engine) resolveLocked(things, groups []string) ([]string, error) {
	out := slices.Clone(things)
	seen := make(map[string]bool, len(things))
	for _, t := range things {
		seen[t] = true
	}
	for _, g := range groups {
		if e.groups[g] == nil {
			return nil, notFound("No thing group named %s (target %s)", g, iotapi.ThingGroupARN(g))
		}
		for _, t := range e.membersLocked(g) {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// DescribeJob returns the job.
func (e *Engine) DescribeJob(jobID string) (iotapi.Job, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	j := e.jobs[jobID]
	if j == nil {
		return iotapi.Job{}, notFound("No job with id %s", jobID)
	}
	return j.describe(), nil
}

// describe is the job as DescribeJob shows it; stateMu is held.
func (j *job) describe() iotapi.Job {
	targets := make([]string, 0, len(j.Targets)+len(j.Groups))
	for _, t := range j.Targets {
		targets = append(targets, iotapi.ThingARN(t))
	}
	for _, g := range j.Groups {
		targets = append(targets, iotapi.ThingGroupARN(g))
	}
	things := j.things
	s := j.summary()
	out := iotapi.Job{
		JobArn: s.JobArn, JobID: j.ID, TargetSelection: s.TargetSelection, Status: s.Status,
		ForceCanceled: forceCanceled(s.Status == iotapi.JobCanceled, j.ForceCanceled),
		ReasonCode:    j.ReasonCode, Comment: j.Comment, Targets: targets, Description: j.Description,
		CreatedAt: s.CreatedAt, LastUpdatedAt: s.LastUpdatedAt, CompletedAt: s.CompletedAt,
		JobProcessDetails: iotapi.JobProcessDetails{
			NumberOfQueuedThings:     things[jobs.StatusQueued],
			NumberOfInProgressThings: things[jobs.StatusInProgress],
			NumberOfSucceededThings:  things[jobs.StatusSucceeded],
			NumberOfFailedThings:     things[jobs.StatusFailed],
			NumberOfRejectedThings:   things[jobs.StatusRejected],
			NumberOfCanceledThings:   things[jobs.StatusCanceled],
			NumberOfTimedOutThings:   things[jobs.StatusTimedOut],
			NumberOfRemovedThings:    things[jobs.StatusRemoved],
		},
		IsConcurrent:               len(j.Waiting) > 0,
		JobExecutionsRolloutConfig: j.Rollout, AbortConfig: j.Abort, JobExecutionsRetryConfig: j.Retry,
	}
	if t := j.InProgressTimeout; t != 0 {
		out.TimeoutConfig = &iotapi.TimeoutConfig{InProgressTimeoutInMinutes: &t}
	}
	return out
}

// forceCanceled is the forceCanceled member: set only on what is CANCELED,
// where false says something.
func forceCanceled(canceled, force bool) *bool {
	if !canceled {
		return nil
	}
	return &force
}

func (j *job) summary() iotapi.JobSummary {
	completed := j.completedAt()
	return iotapi.JobSummary{
		JobArn: iotapi.JobARN(j.ID), JobID: j.ID, TargetSelection: j.targetSelection(), Status: j.status(),
		CreatedAt: timeOf(j.CreatedAt), LastUpdatedAt: timeOf(max(j.LastUpdatedAt, completed)), CompletedAt: timeOf(completed),
	}
}

// timeOf turns a stored time into a timestamp; unset stays unset.
func timeOf(nanos int64) iotapi.EpochSeconds {
	if nanos == 0 {
		return iotapi.EpochSeconds{}
	}
	return iotapi.Epoch(time.Unix(0, nanos))
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

// pageSize checks MaxResults and applies its default.
func pageSize(maxResults int) (int, error) {
	if maxResults == 0 {
		return iotapi.MaxListResults, nil
	}
	return maxResults, iotapi.CheckMaxResults(int64(maxResults))
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
func (e *Engine) ListJobs(in iotapi.ListJobsInput) (iotapi.ListJobsOutput, error) {
	switch in.TargetSelection {
	case "", iotapi.TargetSelectionSnapshot, iotapi.TargetSelectionContinuous:
	default:
		return iotapi.ListJobsOutput{}, invalidRequest("targetSelection must be SNAPSHOT or CONTINUOUS, got %q", in.TargetSelection)
	}
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return iotapi.ListJobsOutput{}, err
	}
	after, err := seqToken(in.NextToken)
	if err != nil {
		return iotapi.ListJobsOutput{}, err
	}
	if in.Status != "" && !in.Status.Known() {
		return iotapi.ListJobsOutput{}, invalidRequest("status %q is not a job status", in.Status)
	}
	out := iotapi.ListJobsOutput{Jobs: []iotapi.JobSummary{}}
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	start := sort.Search(len(e.jobList), func(i int) bool { return e.jobList[i].Seq > after })
	var last uint64
	for _, j := range e.jobList[start:] {
		if (in.Status != "" && j.status() != in.Status) || (in.TargetSelection != "" && j.targetSelection() != in.TargetSelection) {
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
func (e *Engine) CancelJob(in iotapi.CancelJobInput) (iotapi.Job, error) {
	if err := iotapi.CheckText("comment", in.Comment, iotapi.MaxCommentLen); err != nil {
		return iotapi.Job{}, err
	}
	if err := iotapi.CheckReasonCode(in.ReasonCode); err != nil {
		return iotapi.Job{}, err
	}
	var out iotapi.Job
	err := e.control(func() error {
		now := e.clock.Now()
		e.stateMu.RLock()
		j := e.jobs[in.JobID]
		var (
			refusal error
			m       = &mutation{}
		)
		switch {
		case j == nil:
			refusal = notFound("No job with id %s", in.JobID)
		case j.status() == iotapi.JobCompleted:
			refusal = invalidRequest("Job %s is COMPLETED and cannot be canceled", in.JobID)
		case j.Canceled && (!in.Force || j.ForceCanceled):
			refusal = invalidRequest("Job %s is already canceled; only a first forced cancel can follow a cancel", in.JobID)
		default:
			var rec *store.JobRecord
			rec, m.execs = j.cancelLocked(in.Force, CauseCanceled, now)
			rec.Comment = cmp.Or(in.Comment, rec.Comment)
			rec.ReasonCode = cmp.Or(in.ReasonCode, rec.ReasonCode)
			m.jobs = []*store.JobRecord{rec}
		}
		e.stateMu.RUnlock()
		if refusal != nil {
			return refusal
		}
		if err := e.commitControl(m); err != nil {
			return err
		}
		out, _ = e.DescribeJob(in.JobID)
		return nil
	})
	return out, err
}

// DeleteJob deletes the job and all its executions. Without force the job
// must be COMPLETED or CANCELED.
func (e *Engine) DeleteJob(in iotapi.DeleteJobInput) error {
	jobID := in.JobID
	return e.control(func() error {
		e.stateMu.RLock()
		j := e.jobs[jobID]
		var m *mutation
		if j != nil && (in.Force || j.status() != iotapi.JobInProgress) {
			m = &mutation{deleteJob: jobID, execs: make([]execChange, len(j.execs))}
			for i, x := range j.execs {
				m.execs[i] = removal(x)
			}
		}
		e.stateMu.RUnlock()
		switch {
		case j == nil:
			return notFound("No job with id %s", jobID)
		case m == nil:
			return &iotapi.ServiceError{Kind: iotapi.InvalidStateTransition, Message: "Job " + jobID + " is IN_PROGRESS; cancel it first or delete it with force"}
		}
		return e.commitControl(m)
	})
}

// executionView is x as the control plane describes it; stateMu is held.
func (e *Engine) executionView(x *execution, now int64) iotapi.JobExecution {
	v := iotapi.JobExecution{
		JobID: x.JobID, Status: x.Status, ForceCanceled: forceCanceled(x.Status == jobs.StatusCanceled, x.ForceCanceled),
		ThingArn: iotapi.ThingARN(x.Thing),
		QueuedAt: timeOf(x.QueuedAt), StartedAt: timeOf(x.StartedAt), LastUpdatedAt: timeOf(x.LastUpdatedAt),
		ExecutionNumber: x.ExecutionNumber, VersionNumber: x.VersionNumber,
	}
	if len(x.StatusDetails) > 0 {
		v.StatusDetails = &iotapi.StatusDetails{DetailsMap: maps.Clone(x.StatusDetails)}
	}
	if d := deadline(&x.ExecRecord); d > now {
		v.ApproximateSecondsBeforeTimedOut = int64(math.Ceil(float64(d-now) / float64(e.clock.Minute) * 60))
	}
	return v
}

// executionSummary is x as the list operations list it.
func executionSummary(x *execution) iotapi.JobExecutionSummary {
	return iotapi.JobExecutionSummary{
		Status: x.Status, QueuedAt: timeOf(x.QueuedAt), StartedAt: timeOf(x.StartedAt),
		LastUpdatedAt: timeOf(x.LastUpdatedAt), ExecutionNumber: x.ExecutionNumber,
	}
}

// listExecutions pages xs, which are sorted by token: a page token is the
// token of the last execution listed, so changes between pages neither
// repeat nor shift the others. stateMu is held.
func listExecutions(xs []*execution, in iotapi.ListExecutionsInput, token func(*execution) string) (page []*execution, nextToken string, err error) {
	limit, err := pageSize(in.MaxResults)
	if err != nil {
		return nil, "", err
	}
	if in.Status != "" && !in.Status.Known() {
		return nil, "", invalidRequest("status %q is not an execution status", in.Status)
	}
	start := 0
	if in.NextToken != "" {
		start = sort.Search(len(xs), func(i int) bool { return token(xs[i]) > in.NextToken })
	}
	for _, x := range xs[start:] {
		if in.Status != "" && x.Status != in.Status {
			continue
		}
		if len(page) == limit {
			return page, token(page[len(page)-1]), nil
		}
		page = append(page, x)
	}
	return page, "", nil
}

// ListJobExecutionsForJob lists the job's executions by thing name.
func (e *Engine) ListJobExecutionsForJob(in iotapi.ListExecutionsInput) (iotapi.ListJobExecutionsForJobOutput, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	j := e.jobs[in.JobID]
	if j == nil {
		return iotapi.ListJobExecutionsForJobOutput{}, notFound("No job with id %s", in.JobID)
	}
	// Thing names have no '!', which sorts before every character they have.
	xs, next, err := listExecutions(j.execs, in, func(x *execution) string { return fmt.Sprintf("%s!%020d", x.Thing, x.ExecutionNumber) })
	if err != nil {
		return iotapi.ListJobExecutionsForJobOutput{}, err
	}
	out := iotapi.ListJobExecutionsForJobOutput{ExecutionSummaries: make([]iotapi.JobExecutionSummaryForJob, len(xs)), NextToken: next}
	for i, x := range xs {
		out.ExecutionSummaries[i] = iotapi.JobExecutionSummaryForJob{ThingArn: iotapi.ThingARN(x.Thing), JobExecutionSummary: executionSummary(x)}
	}
	return out, nil
}

// ListJobExecutionsForThing lists the thing's executions in job creation
// order. A thing the emulator has no execution for has an empty list, as
// the emulator keeps no registry of things.
func (e *Engine) ListJobExecutionsForThing(in iotapi.ListExecutionsInput) (iotapi.ListJobExecutionsForThingOutput, error) {
	if err := jobs.ValidateThingName(in.ThingName); err != nil {
		return iotapi.ListJobExecutionsForThingOutput{}, invalidRequest("%v", err)
	}
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	var xs []*execution
	if ts := e.things[in.ThingName]; ts != nil {
		for _, ofJob := range ts.execs {
			xs = append(xs, ofJob...)
		}
	}
	slices.SortFunc(xs, func(a, b *execution) int {
		return cmp.Or(cmp.Compare(a.job.Seq, b.job.Seq), cmp.Compare(a.ExecutionNumber, b.ExecutionNumber))
	})
	xs, next, err := listExecutions(xs, in, func(x *execution) string { return fmt.Sprintf("%020d!%020d", x.job.Seq, x.ExecutionNumber) })
	if err != nil {
		return iotapi.ListJobExecutionsForThingOutput{}, err
	}
	out := iotapi.ListJobExecutionsForThingOutput{ExecutionSummaries: make([]iotapi.JobExecutionSummaryForThing, len(xs)), NextToken: next}
	for i, x := range xs {
		out.ExecutionSummaries[i] = iotapi.JobExecutionSummaryForThing{JobID: x.JobID, JobExecutionSummary: executionSummary(x)}
	}
	return out, nil
}

// findExecution is lookup for the control plane: its error names what is
// missing, the job or its execution on the thing. stateMu is held.
func (e *Engine) findExecution(jobID, thing string, executionNumber *int64) (*execution, error) {
	if x := e.lookup(thing, jobID, executionNumber); x != nil {
		return x, nil
	}
	if e.jobs[jobID] == nil {
		return nil, notFound("No job with id %s", jobID)
	}
	return nil, notFound("No execution of job %s on thing %s", jobID, thing)
}

// DescribeJobExecution returns one execution, terminal or not.
func (e *Engine) DescribeJobExecution(in iotapi.DescribeJobExecutionInput) (iotapi.JobExecution, error) {
	e.stateMu.RLock()
	defer e.stateMu.RUnlock()
	x, err := e.findExecution(in.JobID, in.ThingName, in.ExecutionNumber)
	if err != nil {
		return iotapi.JobExecution{}, err
	}
	return e.executionView(x, e.clock.Now().UnixNano()), nil
}

// CancelJobExecution cancels a QUEUED execution, and with Force an
// IN_PROGRESS one. Given statusDetails replace the stored ones.
func (e *Engine) CancelJobExecution(in iotapi.CancelJobExecutionInput) error {
	if err := jobs.ValidateStatusDetails(in.StatusDetails); err != nil {
		return invalidRequest("%v", err)
	}
	if err := jobs.CheckStatusDetailsCount(in.StatusDetails); err != nil {
		return invalidRequest("%v", err)
	}
	return e.control(func() error {
		now := e.clock.Now()
		e.stateMu.RLock()
		x, err := e.findExecution(in.JobID, in.ThingName, nil)
		var cur store.ExecRecord
		if x != nil {
			cur = x.ExecRecord
		}
		e.stateMu.RUnlock()
		switch {
		case err != nil:
			return err
		case in.ExpectedVersion != nil && *in.ExpectedVersion != cur.VersionNumber:
			return &iotapi.ServiceError{Kind: iotapi.VersionConflict, Message: fmt.Sprintf("expectedVersion %d does not match the current versionNumber %d", *in.ExpectedVersion, cur.VersionNumber)}
		case cur.Status.Terminal():
			return &iotapi.ServiceError{Kind: iotapi.InvalidStateTransition, Message: fmt.Sprintf("The execution is in terminal state %s", cur.Status)}
		case cur.Status == jobs.StatusInProgress && !in.Force:
			return &iotapi.ServiceError{Kind: iotapi.InvalidStateTransition, Message: "The execution is IN_PROGRESS; cancel it with force"}
		}
		return e.commitControl(&mutation{execs: []execChange{change(canceled(cur, in.Force, in.StatusDetails, now), CauseCanceled)}})
	})
}

// DeleteJobExecution deletes one execution. Without force it must be
// terminal; a device asking about it afterwards gets ResourceNotFound.
func (e *Engine) DeleteJobExecution(in iotapi.DeleteJobExecutionInput) error {
	return e.control(func() error {
		e.stateMu.RLock()
		x, err := e.findExecution(in.JobID, in.ThingName, &in.ExecutionNumber)
		var m *mutation
		if x != nil {
			m = &mutation{execs: []execChange{removal(x)}}
		}
		pending := x != nil && x.Status.Pending()
		e.stateMu.RUnlock()
		switch {
		case err != nil:
			return err
		case pending && !in.Force:
			return &iotapi.ServiceError{Kind: iotapi.InvalidStateTransition, Message: "The execution is not in a terminal state; delete it with force"}
		}
		return e.commitControl(m)
	})
}
