package controlplane

import (
	"net/http"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The execution routes: ListJobExecutionsForJob, ListJobExecutionsForThing,
// DescribeJobExecution, CancelJobExecution, DeleteJobExecution.

// queryExecutions reads the filter and page of the ListJobExecutionsFor*
// operations.
func queryExecutions(r *http.Request) (iotapi.ListExecutionsInput, error) {
	in := iotapi.ListExecutionsInput{Status: jobs.Status(r.URL.Query().Get("status"))}
	var err error
	in.MaxResults, in.NextToken, err = queryPage(r)
	return in, err
}

func (cp *controlPlane) listJobExecutionsForJob(w http.ResponseWriter, r *http.Request) {
	jobID, err := pathJobID(r)
	var in iotapi.ListExecutionsInput
	if err == nil {
		in, err = queryExecutions(r)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	in.JobID = jobID
	out, err := cp.engine.ListJobExecutionsForJob(in)
	reply(w, out, err)
}

func (cp *controlPlane) listJobExecutionsForThing(w http.ResponseWriter, r *http.Request) {
	thing, err := pathThing(r)
	var in iotapi.ListExecutionsInput
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
	in.ThingName = thing
	out, err := cp.engine.ListJobExecutionsForThing(in)
	reply(w, out, err)
}

func (cp *controlPlane) describeJobExecution(w http.ResponseWriter, r *http.Request) {
	var in iotapi.DescribeJobExecutionInput
	var err error
	in.ThingName, in.JobID, err = pathExecution(r)
	if err == nil {
		in.ExecutionNumber, err = queryInt64(r, "executionNumber")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	x, err := cp.engine.DescribeJobExecution(in)
	reply(w, iotapi.DescribeJobExecutionOutput{Execution: x}, err)
}

func (cp *controlPlane) cancelJobExecution(w http.ResponseWriter, r *http.Request) {
	var in iotapi.CancelJobExecutionInput
	var err error
	in.ThingName, in.JobID, err = pathExecution(r)
	if err == nil {
		in.Force, err = queryBool(r, "force")
	}
	if err == nil {
		_, err = decodeBody(r, &in)
	}
	if err == nil {
		err = cp.engine.CancelJobExecution(in)
	}
	reply(w, nil, err)
}

func (cp *controlPlane) deleteJobExecution(w http.ResponseWriter, r *http.Request) {
	var in iotapi.DeleteJobExecutionInput
	var err error
	in.ThingName, in.JobID, err = pathExecution(r)
	if err == nil {
		in.ExecutionNumber, err = parseInt64("executionNumber", r.PathValue("executionNumber"))
	}
	if err == nil {
		in.Force, err = queryBool(r, "force")
	}
	if err == nil {
		err = unsupportedQuery(r, "namespaceId")
	}
	if err == nil {
		err = cp.engine.DeleteJobExecution(in)
	}
	reply(w, nil, err)
}
