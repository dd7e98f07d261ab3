package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// JobExecution is an execution as sent over MQTT: timestamps in epoch
// seconds, jobDocument as a JSON object, unset fields omitted, no thingName.
type JobExecution struct {
	JobID           string            `json:"jobId"`
	ThingName       string            `json:"thingName,omitempty"`
	Status          Status            `json:"status"`
	StatusDetails   map[string]string `json:"statusDetails,omitempty"`
	QueuedAt        int64             `json:"queuedAt"`
	StartedAt       int64             `json:"startedAt,omitempty"`
	LastUpdatedAt   int64             `json:"lastUpdatedAt"`
	VersionNumber   int64             `json:"versionNumber"`
	ExecutionNumber int64             `json:"executionNumber"`
	JobDocument     json.RawMessage   `json:"jobDocument,omitempty"`
}

// JobExecutionState is the short state of an execution.
type JobExecutionState struct {
	Status        Status            `json:"status"`
	StatusDetails map[string]string `json:"statusDetails,omitempty"`
	VersionNumber int64             `json:"versionNumber"`
}

// JobExecutionSummary is an entry of the pending lists; it has no status:
// the list or map key it sits under gives it.
type JobExecutionSummary struct {
	JobID           string `json:"jobId"`
	QueuedAt        int64  `json:"queuedAt"`
	StartedAt       int64  `json:"startedAt,omitempty"`
	LastUpdatedAt   int64  `json:"lastUpdatedAt"`
	VersionNumber   int64  `json:"versionNumber"`
	ExecutionNumber int64  `json:"executionNumber"`
}

// State returns the execution's short state.
func (e *JobExecution) State() *JobExecutionState {
	return &JobExecutionState{Status: e.Status, StatusDetails: e.StatusDetails, VersionNumber: e.VersionNumber}
}

// Summary returns the execution's list entry.
func (e *JobExecution) Summary() JobExecutionSummary {
	return JobExecutionSummary{
		JobID: e.JobID, QueuedAt: e.QueuedAt, StartedAt: e.StartedAt, LastUpdatedAt: e.LastUpdatedAt,
		VersionNumber: e.VersionNumber, ExecutionNumber: e.ExecutionNumber,
	}
}

// ---- requests ----

// GetPendingRequest is the payload of $aws/things/T/jobs/get.
type GetPendingRequest struct {
	ClientToken string `json:"clientToken,omitempty"`
}

// StartNextRequest is the payload of $aws/things/T/jobs/start-next.
type StartNextRequest struct {
	StatusDetails        map[string]string `json:"statusDetails,omitempty"`
	StepTimeoutInMinutes *int64            `json:"stepTimeoutInMinutes,omitempty"`
	ClientToken          string            `json:"clientToken,omitempty"`
}

// DescribeRequest is the payload of $aws/things/T/jobs/J/get.
// IncludeJobDocument is a pointer because an omitted field means true.
type DescribeRequest struct {
	ExecutionNumber    *int64 `json:"executionNumber,omitempty"`
	IncludeJobDocument *bool  `json:"includeJobDocument,omitempty"`
	ClientToken        string `json:"clientToken,omitempty"`
}

// IncludesJobDocument applies the default of true.
func (r DescribeRequest) IncludesJobDocument() bool {
	return r.IncludeJobDocument == nil || *r.IncludeJobDocument
}

// UpdateRequest is the payload of $aws/things/T/jobs/J/update.
type UpdateRequest struct {
	Status                   Status            `json:"status"`
	StatusDetails            map[string]string `json:"statusDetails,omitempty"`
	ExpectedVersion          *Version          `json:"expectedVersion,omitempty"`
	ExecutionNumber          *int64            `json:"executionNumber,omitempty"`
	IncludeJobExecutionState bool              `json:"includeJobExecutionState,omitempty"`
	IncludeJobDocument       bool              `json:"includeJobDocument,omitempty"`
	StepTimeoutInMinutes     *int64            `json:"stepTimeoutInMinutes,omitempty"`
	ClientToken              string            `json:"clientToken,omitempty"`
}

// Version is an expectedVersion: sent as a JSON number, accepted as a number
// or as a numeric string ("1"), as the AWS embedded C library sends it.
type Version int64

// UnmarshalJSON accepts 3 and "3"; anything else is an error.
func (v *Version) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("expectedVersion must be a number, got %s", b)
	}
	*v = Version(n)
	return nil
}

// ---- responses ----

// GetPendingResponse is the accepted reply to get-pending; both lists are
// always present, empty when nothing is pending.
type GetPendingResponse struct {
	InProgressJobs []JobExecutionSummary `json:"inProgressJobs"`
	QueuedJobs     []JobExecutionSummary `json:"queuedJobs"`
	Timestamp      int64                 `json:"timestamp"`
	ClientToken    string                `json:"clientToken,omitempty"`
}

// ExecutionResponse is the accepted reply to start-next and describe; it has
// no execution key when there is nothing to return.
type ExecutionResponse struct {
	Execution   *JobExecution `json:"execution,omitempty"`
	Timestamp   int64         `json:"timestamp"`
	ClientToken string        `json:"clientToken,omitempty"`
}

// UpdateResponse is the accepted reply to update.
type UpdateResponse struct {
	ExecutionState *JobExecutionState `json:"executionState,omitempty"`
	JobDocument    json.RawMessage    `json:"jobDocument,omitempty"`
	Timestamp      int64              `json:"timestamp"`
	ClientToken    string             `json:"clientToken,omitempty"`
}

// ErrorResponse is the payload of every .../rejected topic.
type ErrorResponse struct {
	Code           ErrorCode          `json:"code"`
	Message        string             `json:"message"`
	ClientToken    string             `json:"clientToken,omitempty"`
	Timestamp      int64              `json:"timestamp"`
	ExecutionState *JobExecutionState `json:"executionState,omitempty"`
}

// NotifyMessage is the payload of .../jobs/notify. Jobs is always present;
// a status whose list would be empty has no key, so an empty pending set is
// {"timestamp":N,"jobs":{}}.
type NotifyMessage struct {
	Timestamp int64                            `json:"timestamp"`
	Jobs      map[Status][]JobExecutionSummary `json:"jobs"`
}

// NotifyNextMessage is the payload of .../jobs/notify-next; with nothing
// pending it is only {"timestamp":N}.
type NotifyNextMessage struct {
	Timestamp int64         `json:"timestamp"`
	Execution *JobExecution `json:"execution,omitempty"`
}

// ---- decoding requests (service side) ----

// ClientTokenOf extracts clientToken from a payload that may not decode as a
// whole, so that even a rejection for bad content echoes the token. A token
// over MaxClientTokenLen is not echoed: "" is returned.
func ClientTokenOf(payload []byte) string {
	token := rawClientToken(payload)
	if ValidateClientToken(token) != nil {
		return ""
	}
	return token
}

func rawClientToken(payload []byte) string {
	var env struct {
		ClientToken json.RawMessage `json:"clientToken"`
	}
	if json.Unmarshal(payload, &env) != nil {
		return ""
	}
	var token string
	if json.Unmarshal(env.ClientToken, &token) != nil {
		return ""
	}
	return token
}

// decodeRequest decodes a request payload into v. A payload that is not
// UTF-8 JSON object text is InvalidJson; one whose fields have the wrong
// types is InvalidRequest. An empty payload counts as {}.
func decodeRequest(payload []byte, v any) *Rejection {
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	if !utf8.Valid(trimmed) || !json.Valid(trimmed) {
		return Reject(CodeInvalidJSON, "Payload is not valid JSON")
	}
	if trimmed[0] != '{' {
		return Reject(CodeInvalidJSON, "Payload must be a JSON object")
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return Reject(CodeInvalidRequest, fmt.Sprintf("Value at '%s' has the wrong type: expected %s", typeErr.Field, typeErr.Type))
		}
		return Reject(CodeInvalidRequest, err.Error())
	}
	if r, ok := v.(interface{ clientToken() string }); ok && ValidateClientToken(r.clientToken()) != nil {
		return Reject(CodeInvalidRequest, "clientToken is longer than 64 characters")
	}
	return nil
}

func (r *GetPendingRequest) clientToken() string { return r.ClientToken }
func (r *StartNextRequest) clientToken() string  { return r.ClientToken }
func (r *DescribeRequest) clientToken() string   { return r.ClientToken }
func (r *UpdateRequest) clientToken() string     { return r.ClientToken }

func checkDetails(details map[string]string) *Rejection {
	if err := ValidateStatusDetails(details); err != nil {
		return Reject(CodeInvalidRequest, err.Error())
	}
	if err := CheckStatusDetailsCount(details); err != nil {
		return Reject(CodeInvalidRequest, err.Error())
	}
	return nil
}

func checkStepTimeout(minutes *int64, allowCancel bool) *Rejection {
	if minutes == nil {
		return nil
	}
	if err := ValidateStepTimeout(*minutes, allowCancel); err != nil {
		return Reject(CodeInvalidRequest, err.Error())
	}
	return nil
}

// DecodeGetPending decodes and checks a get-pending request.
func DecodeGetPending(payload []byte) (GetPendingRequest, *Rejection) {
	var r GetPendingRequest
	return r, decodeRequest(payload, &r)
}

// DecodeStartNext decodes and checks a start-next request.
func DecodeStartNext(payload []byte) (StartNextRequest, *Rejection) {
	var r StartNextRequest
	if rej := decodeRequest(payload, &r); rej != nil {
		return r, rej
	}
	if rej := checkDetails(r.StatusDetails); rej != nil {
		return r, rej
	}
	return r, checkStepTimeout(r.StepTimeoutInMinutes, false)
}

// DecodeDescribe decodes and checks a describe request.
func DecodeDescribe(payload []byte) (DescribeRequest, *Rejection) {
	var r DescribeRequest
	if rej := decodeRequest(payload, &r); rej != nil {
		return r, rej
	}
	if r.ExecutionNumber != nil && *r.ExecutionNumber < 1 {
		return r, Reject(CodeInvalidRequest, "executionNumber must be a positive number")
	}
	return r, nil
}

// DecodeUpdate decodes and checks an update request. The status must be
// present and a known status; whether the transition is allowed depends on
// the execution and is left to CheckDeviceTransition.
func DecodeUpdate(payload []byte) (UpdateRequest, *Rejection) {
	var r UpdateRequest
	if rej := decodeRequest(payload, &r); rej != nil {
		return r, rej
	}
	if r.Status == "" {
		return r, Reject(CodeInvalidRequest, "Value null at 'status' failed to satisfy constraint: Member must not be null")
	}
	if !r.Status.Known() {
		return r, Reject(CodeInvalidRequest, fmt.Sprintf("Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [%s]", r.Status, strings.Join(Names(Statuses), ", ")))
	}
	if r.ExecutionNumber != nil && *r.ExecutionNumber < 1 {
		return r, Reject(CodeInvalidRequest, "executionNumber must be a positive number")
	}
	if rej := checkDetails(r.StatusDetails); rej != nil {
		return r, rej
	}
	return r, checkStepTimeout(r.StepTimeoutInMinutes, true)
}

// Encode is v as the service writes JSON: compact, and without HTML
// escaping, so that a job document's "a && b" arrives as stored, not as
// "a \u0026\u0026 b" (json.Marshal escapes &, < and > even inside a
// json.RawMessage).
func Encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
