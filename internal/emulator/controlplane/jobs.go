package controlplane

import (
	"encoding/json"
	"net/http"

	"github.com/iotjobs/iotjobs/internal/iotapi"
)

// The job routes: CreateJob, DescribeJob, GetJobDocument, ListJobs,
// CancelJob, DeleteJob.

// createJob only decodes: the engine's CreateJob checks the members,
// the rollout, abort and retry configurations included.
func (cp *controlPlane) createJob(w http.ResponseWriter, r *http.Request) {
	var in iotapi.CreateJobInput
	var present map[string]json.RawMessage
	var err error
	in.JobID, err = pathJobID(r)
	if err == nil {
		present, err = decodeBody(r, &in)
	}
	if err == nil {
		err = unsupported(present, "documentSource", "jobTemplateArn", "documentParameters", "presignedUrlConfig",
			"schedulingConfig", "destinationPackageVersions", "namespaceId", "tags")
	}
	if raw, given := present["document"]; err == nil && (!given || string(raw) == "null") {
		err = invalidRequest("document is required (documentSource is not supported by the emulator)")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	job, err := cp.engine.CreateJob(in)
	reply(w, iotapi.JobRef{JobArn: job.JobArn, JobID: job.JobID, Description: job.Description}, err)
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
	reply(w, iotapi.DescribeJobOutput{Job: job}, err)
}

func (cp *controlPlane) getJobDocument(w http.ResponseWriter, r *http.Request) {
	jobID, err := jobIDBeforeSubstitution(r)
	if err != nil {
		writeError(w, err)
		return
	}
	doc, err := cp.engine.GetJobDocument(jobID)
	reply(w, iotapi.GetJobDocumentOutput{Document: doc}, err)
}

func (cp *controlPlane) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	in := iotapi.ListJobsInput{Status: iotapi.JobStatus(q.Get("status")), TargetSelection: q.Get("targetSelection")}
	var err error
	in.MaxResults, in.NextToken, err = queryPage(r)
	if err == nil {
		err = unsupportedQuery(r, "thingGroupName", "thingGroupId", "namespaceId")
	}
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := cp.engine.ListJobs(in)
	reply(w, out, err)
}

func (cp *controlPlane) cancelJob(w http.ResponseWriter, r *http.Request) {
	var in iotapi.CancelJobInput
	var err error
	in.JobID, err = pathJobID(r)
	if err == nil {
		in.Force, err = queryBool(r, "force")
	}
	if err == nil {
		_, err = decodeBody(r, &in)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	job, err := cp.engine.CancelJob(in)
	reply(w, iotapi.JobRef{JobArn: job.JobArn, JobID: job.JobID, Description: job.Description}, err)
}

func (cp *controlPlane) deleteJob(w http.ResponseWriter, r *http.Request) {
	var in iotapi.DeleteJobInput
	var err error
	in.JobID, err = pathJobID(r)
	if err == nil {
		in.Force, err = queryBool(r, "force")
	}
	if err == nil {
		err = unsupportedQuery(r, "namespaceId")
	}
	if err == nil {
		err = cp.engine.DeleteJob(in)
	}
	reply(w, nil, err)
}
