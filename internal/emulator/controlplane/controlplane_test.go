package controlplane_test

import (
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// The control-plane tests speak HTTP to an emulator on 127.0.0.1, as an AWS
// SDK would: the routes, JSON members and error shapes of the AWS IoT
// control plane.

type cpResponse struct {
	Status    int
	ErrorType string // X-Amzn-ErrorType
	Body      []byte
}

// object decodes the body as a JSON object.
func (r cpResponse) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

func cpCall(t *testing.T, emu *testutil.Emulator, method, path, body string) cpResponse {
	t.Helper()
	req, err := http.NewRequest(method, emu.HTTPURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return cpResponse{Status: resp.StatusCode, ErrorType: resp.Header.Get("X-Amzn-ErrorType"), Body: data}
}

// cpOK calls and fails the test unless the answer is 200; it returns the
// body as an object, nil for an empty body.
func cpOK(t *testing.T, emu *testutil.Emulator, method, path, body string) map[string]any {
	t.Helper()
	r := cpCall(t, emu, method, path, body)
	if r.Status != http.StatusOK || r.ErrorType != "" {
		t.Fatalf("%s %s: status %d %s: %s", method, path, r.Status, r.ErrorType, r.Body)
	}
	if len(r.Body) == 0 {
		return nil
	}
	return r.object(t)
}

// path walks a decoded JSON value along keys and array indexes.
func path(t *testing.T, v any, steps ...any) any {
	t.Helper()
	for _, s := range steps {
		switch k := s.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object at %q", v, k)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("%v: no element %d", v, k)
			}
			v = a[k]
		}
	}
	return v
}

// recent checks a timestamp member: epoch seconds as a JSON number, within
// a minute of now.
func recent(t *testing.T, v any, name string) {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("%s = %v (%T), want epoch seconds as a number", name, v, v)
	}
	at := time.UnixMilli(int64(math.Round(f * 1000)))
	if d := time.Since(at); d < -time.Minute || d > time.Minute {
		t.Fatalf("%s = %v is %s away from now", name, f, d)
	}
}

const cpJobBody = `{"targets":["arn:aws:iot:us-east-1:123456789012:thing/t1","t2"],"document":"{\"operation\":\"reboot\"}",` +
	`"description":"reboot the fleet","timeoutConfig":{"inProgressTimeoutInMinutes":30}}`

func TestControlPlaneCreateDescribeAndDocument(t *testing.T) {
	emu := testutil.StartEmulator(t)
	created := cpOK(t, emu, "PUT", "/jobs/j1", cpJobBody)
	want := map[string]any{"jobArn": "arn:aws:iot:us-east-1:123456789012:job/j1", "jobId": "j1", "description": "reboot the fleet"}
	for k, v := range want {
		if created[k] != v {
			t.Errorf("CreateJob %s = %v, want %v", k, created[k], v)
		}
	}

	job := path(t, cpOK(t, emu, "GET", "/jobs/j1", ""), "job").(map[string]any)
	for k, v := range map[string]any{
		"jobId": "j1", "jobArn": want["jobArn"], "status": "IN_PROGRESS", "targetSelection": "SNAPSHOT",
		"description": "reboot the fleet",
	} {
		if job[k] != v {
			t.Errorf("job.%s = %v, want %v", k, job[k], v)
		}
	}
	targets, _ := json.Marshal(job["targets"])
	if string(targets) != `["arn:aws:iot:us-east-1:123456789012:thing/t1","arn:aws:iot:us-east-1:123456789012:thing/t2"]` {
		t.Errorf("targets = %s, want both as thing ARNs in order", targets)
	}
	if got := path(t, job, "timeoutConfig", "inProgressTimeoutInMinutes"); got != 30.0 {
		t.Errorf("timeoutConfig.inProgressTimeoutInMinutes = %v", got)
	}
	if got := path(t, job, "jobProcessDetails", "numberOfQueuedThings"); got != 2.0 {
		t.Errorf("numberOfQueuedThings = %v, want 2", got)
	}
	if got := path(t, job, "jobProcessDetails", "numberOfSucceededThings"); got != 0.0 {
		t.Errorf("numberOfSucceededThings = %v, want 0 (counts are always sent)", got)
	}
	recent(t, job["createdAt"], "createdAt")
	recent(t, job["lastUpdatedAt"], "lastUpdatedAt")
	for _, unset := range []string{"completedAt", "forceCanceled", "comment", "reasonCode"} {
		if _, ok := job[unset]; ok {
			t.Errorf("job.%s = %v, want it left out while unset", unset, job[unset])
		}
	}

	doc := cpOK(t, emu, "GET", "/jobs/j1/job-document?beforeSubstitution=true", "")
	if doc["document"] != `{"operation":"reboot"}` {
		t.Errorf("document = %v, want the text given to CreateJob", doc["document"])
	}
}

func TestControlPlaneErrorShapes(t *testing.T) {
	emu := testutil.StartEmulator(t)
	cpOK(t, emu, "PUT", "/jobs/j1", cpJobBody)

	tests := []struct {
		name, method, path, body string
		status                   int
		errorType                string
		message                  string // a part of the message
	}{
		{"create twice", "PUT", "/jobs/j1", cpJobBody, 409, "ResourceAlreadyExistsException", "j1"},
		{"create bad job id", "PUT", "/jobs/bad.id", cpJobBody, 400, "InvalidRequestException", "job id"},
		{"create not JSON", "PUT", "/jobs/j2", `{"targets":`, 400, "InvalidRequestException", "not a JSON object"},
		{"create array body", "PUT", "/jobs/j2", `[]`, 400, "InvalidRequestException", "not a JSON object"},
		{"create wrong type", "PUT", "/jobs/j2", `{"targets":"t1","document":"{}"}`, 400, "InvalidRequestException", "targets"},
		{"create no targets", "PUT", "/jobs/j2", `{"document":"{}"}`, 400, "InvalidRequestException", "targets"},
		{"create no document", "PUT", "/jobs/j2", `{"targets":["t1"]}`, 400, "InvalidRequestException", "document is required"},
		{"create document not object", "PUT", "/jobs/j2", `{"targets":["t1"],"document":"[1]"}`, 400, "InvalidRequestException", "JSON object"},
		{"create unknown group target", "PUT", "/jobs/j2", `{"targets":["arn:aws:iot:us-east-1:123456789012:thinggroup/g"],"document":"{}"}`, 404, "ResourceNotFoundException", "thing group"},
		{"create unsupported member", "PUT", "/jobs/j2", `{"targets":["t1"],"document":"{}","schedulingConfig":{}}`, 400, "InvalidRequestException", "schedulingConfig"},
		{"create bad target selection", "PUT", "/jobs/j2", `{"targets":["t1"],"document":"{}","targetSelection":"ONCE"}`, 400, "InvalidRequestException", "CONTINUOUS"},
		{"create zero timeout", "PUT", "/jobs/j2", `{"targets":["t1"],"document":"{}","timeoutConfig":{"inProgressTimeoutInMinutes":0}}`, 400, "InvalidRequestException", "inProgressTimeoutInMinutes"},
		{"describe unknown", "GET", "/jobs/nope", "", 404, "ResourceNotFoundException", "nope"},
		{"describe bad flag", "GET", "/jobs/j1?beforeSubstitution=maybe", "", 400, "InvalidRequestException", "beforeSubstitution"},
		{"document unknown", "GET", "/jobs/nope/job-document", "", 404, "ResourceNotFoundException", "nope"},
		{"list bad maxResults", "GET", "/jobs?maxResults=0", "", 400, "InvalidRequestException", "maxResults"},
		{"list maxResults not a number", "GET", "/jobs?maxResults=ten", "", 400, "InvalidRequestException", "maxResults"},
		{"list bad status", "GET", "/jobs?status=DONE", "", 400, "InvalidRequestException", "status"},
		{"list by group", "GET", "/jobs?thingGroupName=g", "", 400, "InvalidRequestException", "thingGroupName"},
		{"list bad token", "GET", "/jobs?nextToken=x", "", 400, "InvalidRequestException", "nextToken"},
		{"cancel unknown", "PUT", "/jobs/nope/cancel", "", 404, "ResourceNotFoundException", "nope"},
		{"cancel bad force", "PUT", "/jobs/j1/cancel?force=yes!", "", 400, "InvalidRequestException", "force"},
		{"cancel bad reason code", "PUT", "/jobs/j1/cancel", `{"reasonCode":"lower"}`, 400, "InvalidRequestException", "reasonCode"},
		{"delete in progress", "DELETE", "/jobs/j1", "", 409, "InvalidStateTransitionException", "IN_PROGRESS"},
		{"delete unknown", "DELETE", "/jobs/nope?force=true", "", 404, "ResourceNotFoundException", "nope"},
		{"executions of unknown job", "GET", "/jobs/nope/things", "", 404, "ResourceNotFoundException", "nope"},
		{"executions bad status", "GET", "/jobs/j1/things?status=DONE", "", 400, "InvalidRequestException", "status"},
		{"executions of bad thing", "GET", "/things/bad%24thing/jobs", "", 400, "InvalidRequestException", "thing name"},
		{"describe execution unknown", "GET", "/things/t1/jobs/nope", "", 404, "ResourceNotFoundException", "nope"},
		{"describe execution wrong number", "GET", "/things/t1/jobs/j1?executionNumber=2", "", 404, "ResourceNotFoundException", "t1"},
		{"describe execution bad number", "GET", "/things/t1/jobs/j1?executionNumber=one", "", 400, "InvalidRequestException", "executionNumber"},
		{"cancel execution version", "PUT", "/things/t1/jobs/j1/cancel", `{"expectedVersion":7}`, 409, "VersionConflictException", "7"},
		{"cancel execution bad version", "PUT", "/things/t1/jobs/j1/cancel", `{"expectedVersion":"seven"}`, 400, "InvalidRequestException", "expectedVersion"},
		{"cancel execution unknown", "PUT", "/things/t9/jobs/j1/cancel", "", 404, "ResourceNotFoundException", "t9"},
		{"delete execution pending", "DELETE", "/things/t1/jobs/j1/executionNumber/1", "", 409, "InvalidStateTransitionException", "force"},
		{"delete execution bad number", "DELETE", "/things/t1/jobs/j1/executionNumber/one", "", 400, "InvalidRequestException", "executionNumber"},
		{"unknown route", "GET", "/thinggroups", "", 404, "UnknownOperationException", "GET /thinggroups"},
		{"wrong method", "POST", "/jobs/j1", "", 405, "MethodNotAllowedException", "this path takes GET, PUT, DELETE"},
		{"wrong method of a PATCH route", "PUT", "/event-configurations", "", 405, "MethodNotAllowedException", "this path takes GET, PATCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cpCall(t, emu, tt.method, tt.path, tt.body)
			if r.Status != tt.status || r.ErrorType != tt.errorType {
				t.Fatalf("status %d %q, want %d %q: %s", r.Status, r.ErrorType, tt.status, tt.errorType, r.Body)
			}
			msg, _ := r.object(t)["message"].(string)
			if !strings.Contains(msg, tt.message) {
				t.Errorf("message %q does not mention %q", msg, tt.message)
			}
		})
	}
	// Nothing of the refused creations was kept.
	jobs := path(t, cpOK(t, emu, "GET", "/jobs", ""), "jobs").([]any)
	if len(jobs) != 1 {
		t.Errorf("ListJobs has %d jobs, want only j1", len(jobs))
	}
}

func TestControlPlaneListsCancelAndDelete(t *testing.T) {
	emu := testutil.StartEmulator(t)
	cpOK(t, emu, "PUT", "/jobs/j1", cpJobBody)
	cpOK(t, emu, "PUT", "/jobs/j2", `{"targets":["t1"],"document":"{}"}`)

	list := cpOK(t, emu, "GET", "/jobs", "")
	if _, ok := list["nextToken"]; ok {
		t.Errorf("nextToken on the only page: %v", list)
	}
	first := path(t, list, "jobs", 0).(map[string]any)
	if first["jobId"] != "j1" || first["status"] != "IN_PROGRESS" || first["targetSelection"] != "SNAPSHOT" ||
		first["jobArn"] != "arn:aws:iot:us-east-1:123456789012:job/j1" {
		t.Errorf("first job summary = %v", first)
	}
	recent(t, first["createdAt"], "createdAt")

	page1 := cpOK(t, emu, "GET", "/jobs?maxResults=1", "")
	token, _ := page1["nextToken"].(string)
	if token == "" || path(t, page1, "jobs", 0, "jobId") != "j1" {
		t.Fatalf("first page of one = %v", page1)
	}
	page2 := cpOK(t, emu, "GET", "/jobs?maxResults=1&nextToken="+token, "")
	if path(t, page2, "jobs", 0, "jobId") != "j2" {
		t.Errorf("second page = %v", page2)
	}

	forJob := cpOK(t, emu, "GET", "/jobs/j1/things", "")
	summaries := path(t, forJob, "executionSummaries").([]any)
	if len(summaries) != 2 || path(t, summaries, 0, "thingArn") != "arn:aws:iot:us-east-1:123456789012:thing/t1" ||
		path(t, summaries, 0, "jobExecutionSummary", "status") != "QUEUED" ||
		path(t, summaries, 0, "jobExecutionSummary", "executionNumber") != 1.0 {
		t.Errorf("executions of j1 = %s", mustJSON(t, forJob))
	}
	recent(t, path(t, summaries, 0, "jobExecutionSummary", "queuedAt"), "queuedAt")

	forThing := cpOK(t, emu, "GET", "/things/t1/jobs?status=QUEUED", "")
	if got := mustJSON(t, path(t, forThing, "executionSummaries", 1, "jobId")); got != `"j2"` {
		t.Errorf("second execution of t1 is of job %s, want j2 (creation order): %s", got, mustJSON(t, forThing))
	}
	if got := path(t, cpOK(t, emu, "GET", "/things/nobody/jobs", ""), "executionSummaries").([]any); len(got) != 0 {
		t.Errorf("executions of a thing without any = %v, want []", got)
	}

	x := path(t, cpOK(t, emu, "GET", "/things/t1/jobs/j1?executionNumber=1", ""), "execution").(map[string]any)
	if x["jobId"] != "j1" || x["status"] != "QUEUED" || x["thingArn"] != "arn:aws:iot:us-east-1:123456789012:thing/t1" ||
		x["executionNumber"] != 1.0 || x["versionNumber"] != 1.0 {
		t.Errorf("execution = %v", x)
	}

	// CancelJobExecution: empty output, the execution is CANCELED with its
	// new statusDetails, and forceCanceled is false because it was QUEUED.
	if out := cpOK(t, emu, "PUT", "/things/t1/jobs/j1/cancel", `{"expectedVersion":1,"statusDetails":{"why":"operator"}}`); out != nil {
		t.Errorf("CancelJobExecution output = %v, want an empty body", out)
	}
	x = path(t, cpOK(t, emu, "GET", "/things/t1/jobs/j1", ""), "execution").(map[string]any)
	if x["status"] != "CANCELED" || x["forceCanceled"] != false || path(t, x, "statusDetails", "detailsMap", "why") != "operator" {
		t.Errorf("canceled execution = %v", x)
	}
	cpOK(t, emu, "DELETE", "/things/t1/jobs/j1/executionNumber/1", "")
	if r := cpCall(t, emu, "GET", "/things/t1/jobs/j1", ""); r.Status != 404 {
		t.Errorf("deleted execution: status %d: %s", r.Status, r.Body)
	}

	canceled := cpOK(t, emu, "PUT", "/jobs/j1/cancel?force=true", `{"comment":"wrong firmware","reasonCode":"BAD_BUILD"}`)
	if canceled["jobId"] != "j1" || canceled["jobArn"] != "arn:aws:iot:us-east-1:123456789012:job/j1" {
		t.Errorf("CancelJob output = %v", canceled)
	}
	job := path(t, cpOK(t, emu, "GET", "/jobs/j1", ""), "job").(map[string]any)
	if job["status"] != "CANCELED" || job["forceCanceled"] != true || job["comment"] != "wrong firmware" || job["reasonCode"] != "BAD_BUILD" {
		t.Errorf("canceled job = %v", job)
	}
	recent(t, job["completedAt"], "completedAt")
	if got := path(t, job, "jobProcessDetails", "numberOfCanceledThings"); got != 1.0 {
		t.Errorf("numberOfCanceledThings = %v, want 1 (t2; t1's execution was deleted)", got)
	}
	if got := path(t, cpOK(t, emu, "GET", "/jobs?status=CANCELED", ""), "jobs").([]any); len(got) != 1 {
		t.Errorf("CANCELED jobs = %v, want j1", got)
	}

	if out := cpOK(t, emu, "DELETE", "/jobs/j1", ""); out != nil {
		t.Errorf("DeleteJob output = %v, want an empty body", out)
	}
	if r := cpCall(t, emu, "GET", "/jobs/j1", ""); r.Status != 404 || r.ErrorType != "ResourceNotFoundException" {
		t.Errorf("deleted job: %d %s", r.Status, r.ErrorType)
	}
	cpOK(t, emu, "DELETE", "/jobs/j2?force=true", "")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestMethodNotAllowedSaysWhatIs: a path that exists with another method
// answers 405 with Allow.
func TestMethodNotAllowedSaysWhatIs(t *testing.T) {
	emu := testutil.StartEmulator(t)
	req, _ := http.NewRequest(http.MethodPost, emu.HTTPURL+"/things/t1/jobs/j1/cancel", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "PUT" {
		t.Errorf("status %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestOnlyItsOwnHostNames: a request whose Host is not a name of the
// listener (as a web page would send through a rebound DNS name) is
// refused; loopback names are served.
func TestOnlyItsOwnHostNames(t *testing.T) {
	emu := testutil.StartEmulator(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(emu.HTTPURL, "http://"))
	for host, want := range map[string]int{
		"evil.example:" + port: http.StatusForbidden,
		"127.0.0.1:1":          http.StatusForbidden,
		"10.0.0.1:" + port:     http.StatusForbidden,
		"localhost:" + port:    http.StatusOK,
		"127.0.0.1:" + port:    http.StatusOK,
		"127.0.0.2:" + port:    http.StatusOK,
	} {
		req, _ := http.NewRequest(http.MethodGet, emu.HTTPURL+"/jobs", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: status %d, want %d", host, resp.StatusCode, want)
		}
		if want == http.StatusForbidden && resp.Header.Get("X-Amzn-ErrorType") != "ForbiddenException" {
			t.Errorf("Host %s: error type %q", host, resp.Header.Get("X-Amzn-ErrorType"))
		}
	}
}
