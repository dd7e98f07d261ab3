package iotapi

import (
	"fmt"
	"math"
	"net/http"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The emulator's own routes, beside AWS's: faults injected on demand, so
// that users can rehearse what AWS IoT does to them.
var (
	RouteInjectFault = Route{http.MethodPost, "/emulator/faults"}
	RouteListFaults  = Route{http.MethodGet, "/emulator/faults"}
	RouteClearFaults = Route{http.MethodDelete, "/emulator/faults"}
)

// FaultKind names a fault.
type FaultKind string

// The faults. The reply faults act on the replies to device requests,
// optionally those of one thing; they fire Count times (0: until cleared).
const (
	FaultDropReplies            FaultKind = "drop-replies"            // the reply is lost
	FaultDelayReplies           FaultKind = "delay-replies"           // the reply comes DelayMillis late
	FaultInternalErrors         FaultKind = "internal-errors"         // InternalError instead, with Probability
	FaultDuplicateNotifications FaultKind = "duplicate-notifications" // notify/notify-next sent twice
	FaultDisconnect             FaultKind = "disconnect"              // ClientID's connection is closed, once
)

// FaultKinds are the fault kinds, for help and checks.
var FaultKinds = []FaultKind{FaultDropReplies, FaultDelayReplies, FaultInternalErrors, FaultDuplicateNotifications, FaultDisconnect}

// FaultInput is InjectFault's: POST /emulator/faults.
type FaultInput struct {
	Kind        FaultKind `json:"kind"`
	Count       int       `json:"count,omitempty"`
	Thing       string    `json:"thing,omitempty"`
	DelayMillis int64     `json:"delayMillis,omitempty"`
	Probability float64   `json:"probability,omitempty"`
	ClientID    string    `json:"clientId,omitempty"`
}

// MaxFaultDelay bounds DelayMillis: a reply later than that is a dropped one.
const MaxFaultDelay = 10 * 60 * 1000

// Check checks the fault's members against its kind; errors are
// InvalidRequest.
func (in FaultInput) Check() error {
	bad := func(format string, args ...any) error { return Errorf(InvalidRequest, format, args...) }
	switch {
	case in.Count < 0:
		return bad("count must be 0 (until cleared) or more, got %d", in.Count)
	case in.Thing != "" && jobs.ValidateThingName(in.Thing) != nil:
		return bad("%v", jobs.ValidateThingName(in.Thing))
	}
	switch in.Kind {
	case FaultDropReplies, FaultDuplicateNotifications:
	case FaultDelayReplies:
		if in.DelayMillis < 1 || in.DelayMillis > MaxFaultDelay {
			return bad("delayMillis must be between 1 and %d", MaxFaultDelay)
		}
	case FaultInternalErrors:
		if math.IsNaN(in.Probability) || in.Probability <= 0 || in.Probability > 1 {
			return bad("probability must be more than 0 and at most 1, got %v", in.Probability)
		}
	case FaultDisconnect:
		if in.ClientID == "" {
			return bad("disconnect needs the clientId of the connection to close")
		}
	default:
		return bad("kind %q is not a fault; the faults are %v", in.Kind, FaultKinds)
	}
	return nil
}

// Fault is an active fault.
type Fault struct {
	ID int `json:"id"`
	FaultInput
	Fired int `json:"fired"`
}

// String says what the fault does, for logs and tables.
func (f Fault) String() string {
	s := string(f.Kind)
	switch f.Kind {
	case FaultDelayReplies:
		s += fmt.Sprintf(" by %d ms", f.DelayMillis)
	case FaultInternalErrors:
		s += fmt.Sprintf(" with probability %g", f.Probability)
	case FaultDisconnect:
		s += " of client " + f.ClientID
	}
	if f.Thing != "" {
		s += " for thing " + f.Thing
	}
	return s
}

// ListFaultsOutput is ListFaults' and InjectFault's.
type ListFaultsOutput struct {
	Faults []Fault `json:"faults"`
}
