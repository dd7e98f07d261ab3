package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The control plane speaks the AWS IoT control-plane REST protocol
// (restJson1) for the jobs operations, with the routes, query parameters,
// member names and error shapes of the AWS SDK for Go v2 service/iot, so
// that any AWS SDK or the AWS CLI pointed at it with an endpoint override
// works unchanged. Choices where the model leaves room are documented in
// docs/emulator.md and made here only:
//   - timestamps are epoch seconds as JSON numbers with millisecond
//     precision, as the live service sends them;
//   - unset fields are omitted; forceCanceled is sent only on CANCELED jobs
//     and executions;
//   - every job is a SNAPSHOT job; features the emulator lacks (thing
//     groups, CONTINUOUS jobs, templates, rollouts, aborts, retries,
//     scheduling, namespaces, tags, ...) are refused with
//     InvalidRequestException naming the field, never silently dropped;
//   - fields and query parameters the model does not know are ignored, as
//     AWS does.

// maxRequestBody bounds a request body: a document is at most 32768 bytes,
// and JSON string escaping can at worst multiply that by six.
const maxRequestBody = 6*jobs.MaxJobDocumentBytes + 64<<10

// unknownOperation is the error of a method and path that is no operation of
// the control plane. It is the handler's own: the engine never raises it.
const unknownOperation ErrorKind = "UnknownOperation"

// targetSelectionSnapshot is the only target selection the emulator has.
const targetSelectionSnapshot = "SNAPSHOT"

// controlPlane serves the jobs operations of the AWS IoT control plane over
// the engine.
type controlPlane struct{ engine *Engine }

// NewControlPlane returns the HTTP handler of the control plane.
func NewControlPlane(engine *Engine) http.Handler {
	cp := &controlPlane{engine: engine}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /jobs/{jobId}", cp.createJob)
	mux.HandleFunc("GET /jobs/{jobId}", cp.describeJob)
	mux.HandleFunc("GET /jobs/{jobId}/job-document", cp.getJobDocument)
	mux.HandleFunc("GET /jobs", cp.listJobs)
	mux.HandleFunc("PUT /jobs/{jobId}/cancel", cp.cancelJob)
	mux.HandleFunc("DELETE /jobs/{jobId}", cp.deleteJob)
	mux.HandleFunc("GET /jobs/{jobId}/things", cp.listJobExecutionsForJob)
	mux.HandleFunc("GET /things/{thingName}/jobs", cp.listJobExecutionsForThing)
	mux.HandleFunc("GET /things/{thingName}/jobs/{jobId}", cp.describeJobExecution)
	mux.HandleFunc("PUT /things/{thingName}/jobs/{jobId}/cancel", cp.cancelJobExecution)
	mux.HandleFunc("DELETE /things/{thingName}/jobs/{jobId}/executionNumber/{executionNumber}", cp.deleteJobExecution)
	// Without a catch-all, ServeMux answers unknown routes in plain text,
	// which an SDK cannot turn into a typed error.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &ServiceError{Kind: unknownOperation, Message: fmt.Sprintf("No operation of the emulator's control plane is %s %s", r.Method, r.URL.Path)})
	})
	return mux
}

// ThingNameOfTarget returns the thing name a CreateJob target names: a
// thing name, or a thing ARN. The CLI checks its --target values with it
// before sending anything.
func ThingNameOfTarget(target string) (string, error) { return normaliseTarget(target) }

// exception is the AWS exception name and HTTP status of an error kind, as
// the AWS IoT API model gives them.
func exception(kind ErrorKind) (string, int) {
	status := http.StatusInternalServerError
	switch kind {
	case InvalidRequest:
		status = http.StatusBadRequest
	case ResourceNotFound, unknownOperation:
		status = http.StatusNotFound
	case ResourceAlreadyExists, VersionConflict, InvalidStateTransition:
		status = http.StatusConflict
	}
	return string(kind) + "Exception", status
}

// writeError sends err in the restJson1 error shape: the exception name in
// X-Amzn-ErrorType, which the SDKs read first, and {"message":...}.
func writeError(w http.ResponseWriter, err error) {
	var se *ServiceError
	if !errors.As(err, &se) {
		se = &ServiceError{Kind: InternalFailure, Message: err.Error()}
	}
	name, status := exception(se.Kind)
	w.Header().Set("X-Amzn-ErrorType", name)
	writeJSON(w, status, struct {
		Message string `json:"message"`
	}{se.Message})
}

// writeJSON sends v with status; a nil v sends the empty body of the
// operations that have no output.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("X-Amzn-RequestId", uuid.NewString())
	if v == nil {
		w.WriteHeader(status)
		return
	}
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"message":"the response could not be encoded"}`)
		w.Header().Set("X-Amzn-ErrorType", "InternalFailureException")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// reply sends the output of an operation, or its error.
func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// decodeBody reads the JSON object of a request into v and returns its
// members as given, so that a handler can tell which were present. An empty
// body is an empty object; anything that is not one JSON object of the
// right types is InvalidRequest.
func decodeBody(r *http.Request, v any) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxRequestBody))
	if err != nil {
		return nil, invalidRequest("The request body could not be read: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil {
		return nil, invalidRequest("The request body is not a JSON object: %v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, invalidRequest("The request body is not valid: %v", err)
	}
	return members, nil
}

// unsupported refuses the members of a request the emulator has no
// behaviour for; present means given and not null.
func unsupported(present map[string]json.RawMessage, names ...string) error {
	for _, name := range names {
		if raw, ok := present[name]; ok && string(raw) != "null" {
			return invalidRequest("%s is not supported by the emulator", name)
		}
	}
	return nil
}

// unsupportedQuery is unsupported for query parameters.
func unsupportedQuery(r *http.Request, names ...string) error {
	for _, name := range names {
		if r.URL.Query().Has(name) {
			return invalidRequest("The query parameter %s is not supported by the emulator", name)
		}
	}
	return nil
}

func pathJobID(r *http.Request) (string, error) {
	id := r.PathValue("jobId")
	if err := jobs.ValidateJobID(id); err != nil {
		return "", invalidRequest("%v", err)
	}
	return id, nil
}

func pathThing(r *http.Request) (string, error) {
	thing := r.PathValue("thingName")
	if err := jobs.ValidateThingName(thing); err != nil {
		return "", invalidRequest("%v", err)
	}
	return thing, nil
}

// queryBool reads a boolean query parameter; absent is false.
func queryBool(r *http.Request, name string) (bool, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, invalidRequest("%s must be true or false, got %q", name, s)
	}
	return b, nil
}

// parseInt64 reads an integer parameter for the error message's name.
func parseInt64(name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalidRequest("%s must be an integer, got %q", name, s)
	}
	return n, nil
}

// queryPage reads maxResults and nextToken; the engine checks the range.
func queryPage(r *http.Request) (maxResults int, nextToken string, err error) {
	q := r.URL.Query()
	if s := q.Get("maxResults"); s != "" {
		n, err := parseInt64("maxResults", s)
		if err != nil {
			return 0, "", err
		}
		if n < 1 || n > MaxListResults {
			return 0, "", invalidRequest("maxResults must be between 1 and %d", MaxListResults)
		}
		maxResults = int(n)
	}
	return maxResults, q.Get("nextToken"), nil
}

// epochSeconds is a timestamp as the restJson1 protocol sends it: seconds
// since the epoch as a JSON number, here with milliseconds as fractions.
type epochSeconds struct{ time.Time }

func (t epochSeconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1000, 'f', -1, 64), nil
}

func epoch(t time.Time) epochSeconds { return epochSeconds{t} }

// forceCanceled is the forceCanceled member: sent only on what is CANCELED,
// where false says something.
func forceCanceled(canceled, force bool) *bool {
	if !canceled {
		return nil
	}
	return &force
}

type jobSummaryJSON struct {
	JobArn          string       `json:"jobArn"`
	JobID           string       `json:"jobId"`
	TargetSelection string       `json:"targetSelection"`
	Status          JobStatus    `json:"status"`
	CreatedAt       epochSeconds `json:"createdAt,omitzero"`
	LastUpdatedAt   epochSeconds `json:"lastUpdatedAt,omitzero"`
	CompletedAt     epochSeconds `json:"completedAt,omitzero"`
}

type jobProcessDetailsJSON struct {
	NumberOfCanceledThings   int `json:"numberOfCanceledThings"`
	NumberOfSucceededThings  int `json:"numberOfSucceededThings"`
	NumberOfFailedThings     int `json:"numberOfFailedThings"`
	NumberOfRejectedThings   int `json:"numberOfRejectedThings"`
	NumberOfQueuedThings     int `json:"numberOfQueuedThings"`
	NumberOfInProgressThings int `json:"numberOfInProgressThings"`
	NumberOfRemovedThings    int `json:"numberOfRemovedThings"`
	NumberOfTimedOutThings   int `json:"numberOfTimedOutThings"`
}

type timeoutConfigJSON struct {
	InProgressTimeoutInMinutes *int64 `json:"inProgressTimeoutInMinutes,omitempty"`
}

type jobJSON struct {
	JobArn            string                `json:"jobArn"`
	JobID             string                `json:"jobId"`
	TargetSelection   string                `json:"targetSelection"`
	Status            JobStatus             `json:"status"`
	ForceCanceled     *bool                 `json:"forceCanceled,omitempty"`
	ReasonCode        string                `json:"reasonCode,omitempty"`
	Comment           string                `json:"comment,omitempty"`
	Targets           []string              `json:"targets"`
	Description       string                `json:"description,omitempty"`
	CreatedAt         epochSeconds          `json:"createdAt,omitzero"`
	LastUpdatedAt     epochSeconds          `json:"lastUpdatedAt,omitzero"`
	CompletedAt       epochSeconds          `json:"completedAt,omitzero"`
	JobProcessDetails jobProcessDetailsJSON `json:"jobProcessDetails"`
	TimeoutConfig     *timeoutConfigJSON    `json:"timeoutConfig,omitempty"`
}

func jobView(j Job) jobJSON {
	v := jobJSON{
		JobArn: j.JobARN, JobID: j.JobID, TargetSelection: targetSelectionSnapshot, Status: j.Status,
		ForceCanceled: forceCanceled(j.Status == JobCanceled, j.ForceCanceled),
		ReasonCode:    j.ReasonCode, Comment: j.Comment, Targets: j.Targets, Description: j.Description,
		CreatedAt: epoch(j.CreatedAt), LastUpdatedAt: epoch(j.LastUpdatedAt), CompletedAt: epoch(j.CompletedAt),
		JobProcessDetails: jobProcessDetailsJSON{
			NumberOfCanceledThings:   j.ProcessDetails.NumberOfCanceledThings,
			NumberOfSucceededThings:  j.ProcessDetails.NumberOfSucceededThings,
			NumberOfFailedThings:     j.ProcessDetails.NumberOfFailedThings,
			NumberOfRejectedThings:   j.ProcessDetails.NumberOfRejectedThings,
			NumberOfQueuedThings:     j.ProcessDetails.NumberOfQueuedThings,
			NumberOfInProgressThings: j.ProcessDetails.NumberOfInProgressThings,
			NumberOfRemovedThings:    j.ProcessDetails.NumberOfRemovedThings,
			NumberOfTimedOutThings:   j.ProcessDetails.NumberOfTimedOutThings,
		},
	}
	if t := j.InProgressTimeoutInMinutes; t != 0 {
		v.TimeoutConfig = &timeoutConfigJSON{InProgressTimeoutInMinutes: &t}
	}
	return v
}

// jobRefJSON is the output of CreateJob and CancelJob.
type jobRefJSON struct {
	JobArn      string `json:"jobArn"`
	JobID       string `json:"jobId"`
	Description string `json:"description,omitempty"`
}

type executionSummaryJSON struct {
	Status          jobs.Status  `json:"status"`
	QueuedAt        epochSeconds `json:"queuedAt,omitzero"`
	StartedAt       epochSeconds `json:"startedAt,omitzero"`
	LastUpdatedAt   epochSeconds `json:"lastUpdatedAt,omitzero"`
	ExecutionNumber int64        `json:"executionNumber"`
}

func executionSummary(x Execution) executionSummaryJSON {
	return executionSummaryJSON{
		Status: x.Status, QueuedAt: epoch(x.QueuedAt), StartedAt: epoch(x.StartedAt),
		LastUpdatedAt: epoch(x.LastUpdatedAt), ExecutionNumber: x.ExecutionNumber,
	}
}

type statusDetailsJSON struct {
	DetailsMap map[string]string `json:"detailsMap"`
}

type executionJSON struct {
	JobID                            string             `json:"jobId"`
	Status                           jobs.Status        `json:"status"`
	ForceCanceled                    *bool              `json:"forceCanceled,omitempty"`
	StatusDetails                    *statusDetailsJSON `json:"statusDetails,omitempty"`
	ThingArn                         string             `json:"thingArn"`
	QueuedAt                         epochSeconds       `json:"queuedAt,omitzero"`
	StartedAt                        epochSeconds       `json:"startedAt,omitzero"`
	LastUpdatedAt                    epochSeconds       `json:"lastUpdatedAt,omitzero"`
	ExecutionNumber                  int64              `json:"executionNumber"`
	VersionNumber                    int64              `json:"versionNumber"`
	ApproximateSecondsBeforeTimedOut int64              `json:"approximateSecondsBeforeTimedOut,omitempty"`
}

func (cp *controlPlane) createJob(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Targets         []string `json:"targets"`
		Document        *string  `json:"document"`
		Description     string   `json:"description"`
		TargetSelection string   `json:"targetSelection"`
		TimeoutConfig   *struct {
			InProgressTimeoutInMinutes *int64 `json:"inProgressTimeoutInMinutes"`
		} `json:"timeoutConfig"`
	}
	var present map[string]json.RawMessage
	jobID, err := pathJobID(r)
	if err == nil {
		present, err = decodeBody(r, &in)
	}
	if err == nil {
		err = unsupported(present, "documentSource", "jobTemplateArn", "documentParameters", "abortConfig",
			"jobExecutionsRetryConfig", "jobExecutionsRolloutConfig", "presignedUrlConfig", "schedulingConfig",
			"destinationPackageVersions", "namespaceId", "tags")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	switch in.TargetSelection {
	case "", targetSelectionSnapshot:
	case "CONTINUOUS":
		writeError(w, invalidRequest("targetSelection CONTINUOUS is not supported by the emulator, which has no thing groups"))
		return
	default:
		writeError(w, invalidRequest("targetSelection must be SNAPSHOT or CONTINUOUS, got %q", in.TargetSelection))
		return
	}
	if in.Document == nil {
		writeError(w, invalidRequest("document is required (documentSource is not supported by the emulator)"))
		return
	}
	create := CreateJobInput{JobID: jobID, Targets: in.Targets, Document: *in.Document, Description: in.Description}
	if in.TimeoutConfig != nil && in.TimeoutConfig.InProgressTimeoutInMinutes != nil {
		// The engine reads 0 as "no timer"; on the wire 0 is out of range.
		if t := *in.TimeoutConfig.InProgressTimeoutInMinutes; t < 1 || t > jobs.MaxInProgressTimeout {
			writeError(w, invalidRequest("inProgressTimeoutInMinutes must be between 1 and %d", jobs.MaxInProgressTimeout))
			return
		}
		create.InProgressTimeoutInMinutes = *in.TimeoutConfig.InProgressTimeoutInMinutes
	}
	job, err := cp.engine.CreateJob(create)
	reply(w, jobRefJSON{JobArn: job.JobARN, JobID: job.JobID, Description: job.Description}, err)
}

// jobIDBeforeSubstitution reads the job id of DescribeJob and
// GetJobDocument and checks their beforeSubstitution flag. Without templates
// there is nothing to substitute: the document before and after
// substitution is the same, so the flag changes nothing.
func jobIDBeforeSubstitution(r *http.Request) (string, error) {
	jobID, err := pathJobID(r)
	if err == nil {
		_, err = queryBool(r, "beforeSubstitution")
	}
	return jobID, err
}

func (cp *controlPlane) describeJob(w http.ResponseWriter, r *http.Request) {
	jobID, err := jobIDBeforeSubstitution(r)
	if err != nil {
		writeError(w, err)
		return
	}
	job, err := cp.engine.DescribeJob(jobID)
	reply(w, struct {
		Job jobJSON `json:"job"`
	}{jobView(job)}, err)
}

func (cp *controlPlane) getJobDocument(w http.ResponseWriter, r *http.Request) {
	jobID, err := jobIDBeforeSubstitution(r)
	if err != nil {
		writeError(w, err)
		return
	}
	doc, err := cp.engine.GetJobDocument(jobID)
	reply(w, struct {
		Document string `json:"document"`
	}{doc}, err)
}

func (cp *controlPlane) listJobs(w http.ResponseWriter, r *http.Request) {
	in := ListJobsInput{Status: JobStatus(r.URL.Query().Get("status"))}
	var err error
	in.MaxResults, in.NextToken, err = queryPage(r)
	if err == nil {
		err = unsupportedQuery(r, "thingGroupName", "thingGroupId", "namespaceId")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	type page struct {
		Jobs      []jobSummaryJSON `json:"jobs"`
		NextToken string           `json:"nextToken,omitempty"`
	}
	switch selection := r.URL.Query().Get("targetSelection"); selection {
	case "", targetSelectionSnapshot:
	case "CONTINUOUS":
		// Every job of the emulator is a SNAPSHOT job.
		reply(w, page{Jobs: []jobSummaryJSON{}}, nil)
		return
	default:
		writeError(w, invalidRequest("targetSelection must be SNAPSHOT or CONTINUOUS, got %q", selection))
		return
	}
	out, err := cp.engine.ListJobs(in)
	p := page{Jobs: make([]jobSummaryJSON, len(out.Jobs)), NextToken: out.NextToken}
	for i, j := range out.Jobs {
		p.Jobs[i] = jobSummaryJSON{
			JobArn: j.JobARN, JobID: j.JobID, TargetSelection: targetSelectionSnapshot, Status: j.Status,
			CreatedAt: epoch(j.CreatedAt), LastUpdatedAt: epoch(j.LastUpdatedAt), CompletedAt: epoch(j.CompletedAt),
		}
	}
	reply(w, p, err)
}

func (cp *controlPlane) cancelJob(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Comment    string `json:"comment"`
		ReasonCode string `json:"reasonCode"`
	}
	in := CancelJobInput{}
	var err error
	in.JobID, err = pathJobID(r)
	if err == nil {
		in.Force, err = queryBool(r, "force")
	}
	if err == nil {
		_, err = decodeBody(r, &body)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	in.Comment, in.ReasonCode = body.Comment, body.ReasonCode
	job, err := cp.engine.CancelJob(in)
	reply(w, jobRefJSON{JobArn: job.JobARN, JobID: job.JobID, Description: job.Description}, err)
}

func (cp *controlPlane) deleteJob(w http.ResponseWriter, r *http.Request) {
	jobID, err := pathJobID(r)
	var force bool
	if err == nil {
		force, err = queryBool(r, "force")
	}
	if err == nil {
		err = unsupportedQuery(r, "namespaceId")
	}
	if err == nil {
		err = cp.engine.DeleteJob(jobID, force)
	}
	reply(w, nil, err)
}

// queryExecutions reads the filter and page of the ListJobExecutionsFor*
// operations.
func queryExecutions(r *http.Request) (ListExecutionsInput, error) {
	in := ListExecutionsInput{Status: jobs.Status(r.URL.Query().Get("status"))}
	var err error
	in.MaxResults, in.NextToken, err = queryPage(r)
	return in, err
}

type executionsPage[T any] struct {
	ExecutionSummaries []T    `json:"executionSummaries"`
	NextToken          string `json:"nextToken,omitempty"`
}

func (cp *controlPlane) listJobExecutionsForJob(w http.ResponseWriter, r *http.Request) {
	type summary struct {
		ThingArn            string               `json:"thingArn"`
		JobExecutionSummary executionSummaryJSON `json:"jobExecutionSummary"`
	}
	jobID, err := pathJobID(r)
	var in ListExecutionsInput
	if err == nil {
		in, err = queryExecutions(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.ListJobExecutionsForJob(jobID, in)
	p := executionsPage[summary]{ExecutionSummaries: make([]summary, len(out.Executions)), NextToken: out.NextToken}
	for i, x := range out.Executions {
		p.ExecutionSummaries[i] = summary{ThingArn: x.ThingARN, JobExecutionSummary: executionSummary(x)}
	}
	reply(w, p, err)
}

func (cp *controlPlane) listJobExecutionsForThing(w http.ResponseWriter, r *http.Request) {
	type summary struct {
		JobID               string               `json:"jobId"`
		JobExecutionSummary executionSummaryJSON `json:"jobExecutionSummary"`
	}
	thing, err := pathThing(r)
	var in ListExecutionsInput
	if err == nil {
		in, err = queryExecutions(r)
	}
	if err == nil {
		err = unsupportedQuery(r, "namespaceId", "jobId")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.ListJobExecutionsForThing(thing, in)
	p := executionsPage[summary]{ExecutionSummaries: make([]summary, len(out.Executions)), NextToken: out.NextToken}
	for i, x := range out.Executions {
		p.ExecutionSummaries[i] = summary{JobID: x.JobID, JobExecutionSummary: executionSummary(x)}
	}
	reply(w, p, err)
}

// pathExecution reads the thing name and job id of the execution routes.
func pathExecution(r *http.Request) (thing, jobID string, err error) {
	if thing, err = pathThing(r); err != nil {
		return "", "", err
	}
	jobID, err = pathJobID(r)
	return thing, jobID, err
}

func (cp *controlPlane) describeJobExecution(w http.ResponseWriter, r *http.Request) {
	thing, jobID, err := pathExecution(r)
	var number *int64
	if s := r.URL.Query().Get("executionNumber"); err == nil && s != "" {
		var n int64
		n, err = parseInt64("executionNumber", s)
		number = &n
	}
	if err != nil {
		writeError(w, err)
		return
	}
	x, err := cp.engine.DescribeJobExecution(jobID, thing, number)
	v := executionJSON{
		JobID: x.JobID, Status: x.Status, ForceCanceled: forceCanceled(x.Status == jobs.StatusCanceled, x.ForceCanceled),
		ThingArn: x.ThingARN, QueuedAt: epoch(x.QueuedAt), StartedAt: epoch(x.StartedAt), LastUpdatedAt: epoch(x.LastUpdatedAt),
		ExecutionNumber: x.ExecutionNumber, VersionNumber: x.VersionNumber,
		ApproximateSecondsBeforeTimedOut: x.ApproximateSecondsBeforeTimedOut,
	}
	if len(x.StatusDetails) > 0 {
		v.StatusDetails = &statusDetailsJSON{DetailsMap: x.StatusDetails}
	}
	reply(w, struct {
		Execution executionJSON `json:"execution"`
	}{v}, err)
}

func (cp *controlPlane) cancelJobExecution(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ExpectedVersion *int64            `json:"expectedVersion"`
		StatusDetails   map[string]string `json:"statusDetails"`
	}
	var in CancelJobExecutionInput
	var err error
	in.ThingName, in.JobID, err = pathExecution(r)
	if err == nil {
		in.Force, err = queryBool(r, "force")
	}
	if err == nil {
		_, err = decodeBody(r, &body)
	}
	if err == nil {
		in.ExpectedVersion, in.StatusDetails = body.ExpectedVersion, body.StatusDetails
		err = cp.engine.CancelJobExecution(in)
	}
	reply(w, nil, err)
}

func (cp *controlPlane) deleteJobExecution(w http.ResponseWriter, r *http.Request) {
	thing, jobID, err := pathExecution(r)
	var (
		number int64
		force  bool
	)
	if err == nil {
		number, err = parseInt64("executionNumber", r.PathValue("executionNumber"))
	}
	if err == nil {
		force, err = queryBool(r, "force")
	}
	if err == nil {
		err = unsupportedQuery(r, "namespaceId")
	}
	if err == nil {
		err = cp.engine.DeleteJobExecution(jobID, thing, number, force)
	}
	reply(w, nil, err)
}
