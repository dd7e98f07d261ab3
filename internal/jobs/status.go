package jobs

// Status is the status of a job execution.
type Status string

// The execution statuses of the Jobs service.
const (
	StatusQueued     Status = "QUEUED"
	StatusInProgress Status = "IN_PROGRESS"
	StatusSucceeded  Status = "SUCCEEDED"
	StatusFailed     Status = "FAILED"
	StatusTimedOut   Status = "TIMED_OUT"
	StatusRejected   Status = "REJECTED"
	StatusRemoved    Status = "REMOVED"
	StatusCanceled   Status = "CANCELED"
)

// Statuses lists every execution status, pending ones first.
var Statuses = []Status{
	StatusQueued, StatusInProgress, StatusSucceeded, StatusFailed,
	StatusTimedOut, StatusRejected, StatusRemoved, StatusCanceled,
}

// DeviceStatuses lists the statuses a device may request in an update.
var DeviceStatuses = []Status{StatusInProgress, StatusSucceeded, StatusFailed, StatusRejected}

// Names spells statuses as the strings of the wire, for flag values and
// completions.
func Names[S ~string](statuses []S) []string {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	return names
}

// Known reports whether s is one of the service's statuses.
func (s Status) Known() bool {
	for _, k := range Statuses {
		if s == k {
			return true
		}
	}
	return false
}

// Terminal reports whether no further device update is accepted in s.
func (s Status) Terminal() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusTimedOut, StatusRejected, StatusRemoved, StatusCanceled:
		return true
	}
	return false
}

// Pending reports whether an execution in s is in the thing's pending set.
func (s Status) Pending() bool {
	return s == StatusQueued || s == StatusInProgress
}

// DeviceSettable reports whether a device may ask for s in an update.
func (s Status) DeviceSettable() bool {
	for _, d := range DeviceStatuses {
		if s == d {
			return true
		}
	}
	return false
}

// CheckDeviceTransition decides whether a device may move an execution from
// `from` to `to`. It returns "" when the move is allowed, otherwise the code
// the service rejects it with: InvalidRequest for a string that is no status,
// InvalidStateTransition for a terminal execution or a status only the
// service sets (QUEUED, TIMED_OUT, REMOVED, CANCELED).
func CheckDeviceTransition(from, to Status) ErrorCode {
	if !to.Known() {
		return CodeInvalidRequest
	}
	if from.Terminal() || !to.DeviceSettable() {
		return CodeInvalidStateTransition
	}
	return ""
}
