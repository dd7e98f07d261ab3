package jobs

// ErrorCode is the `code` of a rejected response.
type ErrorCode string

// The nine codes of the ErrorResponse.
const (
	CodeInvalidTopic           ErrorCode = "InvalidTopic"
	CodeInvalidJSON            ErrorCode = "InvalidJson"
	CodeInvalidRequest         ErrorCode = "InvalidRequest"
	CodeInvalidStateTransition ErrorCode = "InvalidStateTransition"
	CodeResourceNotFound       ErrorCode = "ResourceNotFound"
	CodeVersionMismatch        ErrorCode = "VersionMismatch"
	CodeInternalError          ErrorCode = "InternalError"
	CodeRequestThrottled       ErrorCode = "RequestThrottled"
	CodeTerminalStateReached   ErrorCode = "TerminalStateReached"
)

// ErrorCodes lists the rejected codes in the order of the spec.
var ErrorCodes = []ErrorCode{
	CodeInvalidTopic, CodeInvalidJSON, CodeInvalidRequest, CodeInvalidStateTransition,
	CodeResourceNotFound, CodeVersionMismatch, CodeInternalError, CodeRequestThrottled,
	CodeTerminalStateReached,
}

// CarriesExecutionState reports whether a rejection with code c includes
// executionState: only VersionMismatch and InvalidStateTransition do.
func (c ErrorCode) CarriesExecutionState() bool {
	return c == CodeVersionMismatch || c == CodeInvalidStateTransition
}

// Rejection is a request the service refuses; it becomes an ErrorResponse.
type Rejection struct {
	Code    ErrorCode
	Message string
	// State is set only for the codes that carry executionState.
	State *JobExecutionState
}

func (r *Rejection) Error() string { return string(r.Code) + ": " + r.Message }

// Reject builds a Rejection without execution state.
func Reject(code ErrorCode, message string) *Rejection {
	return &Rejection{Code: code, Message: message}
}

// Response turns the rejection into the payload published on .../rejected.
func (r *Rejection) Response(clientToken string, timestamp int64) ErrorResponse {
	resp := ErrorResponse{Code: r.Code, Message: r.Message, ClientToken: clientToken, Timestamp: timestamp}
	if r.Code.CarriesExecutionState() {
		resp.ExecutionState = r.State
	}
	return resp
}
