package jobs

import (
	"errors"
	"strings"
)

// Operation is what a topic under $aws/things/T/jobs/ stands for.
type Operation int

// The operations of the device API and the two notification streams.
const (
	OpGetPending Operation = iota + 1 // $aws/things/T/jobs/get
	OpStartNext                       // $aws/things/T/jobs/start-next
	OpDescribe                        // $aws/things/T/jobs/J/get
	OpUpdate                          // $aws/things/T/jobs/J/update
	OpNotify                          // $aws/things/T/jobs/notify
	OpNotifyNext                      // $aws/things/T/jobs/notify-next
)

// String names the operation as the CLI does.
func (o Operation) String() string {
	switch o {
	case OpGetPending:
		return "get-pending"
	case OpStartNext:
		return "start-next"
	case OpDescribe:
		return "describe"
	case OpUpdate:
		return "update"
	case OpNotify:
		return "notify"
	case OpNotifyNext:
		return "notify-next"
	}
	return "unknown"
}

// Request reports whether a device publishes o to ask the service something.
func (o Operation) Request() bool {
	return o >= OpGetPending && o <= OpUpdate
}

// Reply is the response suffix of a topic.
type Reply string

// Topic suffixes of responses; ReplyNone is a request or notification topic.
const (
	ReplyNone     Reply = ""
	ReplyAccepted Reply = "accepted"
	ReplyRejected Reply = "rejected"
)

const (
	thingsPrefix = "$aws/things/"
	jobsLevel    = "/jobs"
	// NextJobID is the job id that names the thing's next pending execution.
	NextJobID = "$next"
)

// Topic is a parsed topic of the Jobs namespace.
type Topic struct {
	Thing string
	JobID string // set for OpDescribe and OpUpdate; may be NextJobID for OpDescribe
	Op    Operation
	Reply Reply
}

// Errors of ParseTopic.
var (
	// ErrNotJobsTopic: the topic is outside $aws/things/T/jobs/.
	ErrNotJobsTopic = errors.New("not a jobs topic")
	// ErrInvalidTopic: the topic is in the Jobs namespace but maps to no API;
	// the service answers it with code InvalidTopic.
	ErrInvalidTopic = errors.New("topic in the jobs namespace maps to no API")
)

// JobsNamespace returns the thing's Jobs topic prefix, "$aws/things/T/jobs".
func JobsNamespace(thing string) string { return thingsPrefix + thing + jobsLevel }

// GetPendingTopic is the topic of GetPendingJobExecutions.
func GetPendingTopic(thing string) Topic { return Topic{Thing: thing, Op: OpGetPending} }

// StartNextTopic is the topic of StartNextPendingJobExecution.
func StartNextTopic(thing string) Topic { return Topic{Thing: thing, Op: OpStartNext} }

// DescribeTopic is the topic of DescribeJobExecution; jobID may be NextJobID.
func DescribeTopic(thing, jobID string) Topic {
	return Topic{Thing: thing, JobID: jobID, Op: OpDescribe}
}

// UpdateTopic is the topic of UpdateJobExecution.
func UpdateTopic(thing, jobID string) Topic { return Topic{Thing: thing, JobID: jobID, Op: OpUpdate} }

// NotifyTopic is the JobExecutionsChanged stream of the thing.
func NotifyTopic(thing string) Topic { return Topic{Thing: thing, Op: OpNotify} }

// NotifyNextTopic is the NextJobExecutionChanged stream of the thing.
func NotifyNextTopic(thing string) Topic { return Topic{Thing: thing, Op: OpNotifyNext} }

// ReplyFilters are the reply topics of every request of thing, with the
// job ids as the MQTT wildcard +: eight filters, one SUBSCRIBE's worth on
// AWS IoT, where a subscription per job would reach its 50 per
// connection after 25 jobs.
func ReplyFilters(thing string) []string {
	var filters []string
	for _, t := range []Topic{GetPendingTopic(thing), StartNextTopic(thing), DescribeTopic(thing, "+"), UpdateTopic(thing, "+")} {
		filters = append(filters, t.Accepted().String(), t.Rejected().String())
	}
	return filters
}

// Accepted is the topic the service answers t on when it accepts it.
func (t Topic) Accepted() Topic { t.Reply = ReplyAccepted; return t }

// Rejected is the topic the service answers t on when it rejects it.
func (t Topic) Rejected() Topic { t.Reply = ReplyRejected; return t }

// Request is t without its response suffix.
func (t Topic) Request() Topic { t.Reply = ReplyNone; return t }

// String renders the MQTT topic name.
func (t Topic) String() string {
	var b strings.Builder
	b.WriteString(JobsNamespace(t.Thing))
	b.WriteByte('/')
	switch t.Op {
	case OpGetPending:
		b.WriteString("get")
	case OpStartNext:
		b.WriteString("start-next")
	case OpDescribe:
		b.WriteString(t.JobID + "/get")
	case OpUpdate:
		b.WriteString(t.JobID + "/update")
	case OpNotify:
		b.WriteString("notify")
	case OpNotifyNext:
		b.WriteString("notify-next")
	}
	if t.Reply != ReplyNone {
		b.WriteByte('/')
		b.WriteString(string(t.Reply))
	}
	return b.String()
}

// ParseTopic parses a topic name of the Jobs namespace, following the grammar
// $aws/things/T/jobs/{notify|notify-next|get|start-next|J/get|J/update}
// [/accepted|/rejected]. A topic outside $aws/things/T/jobs gives
// ErrNotJobsTopic. One inside it that maps to no API, or whose thing name or
// job id is not valid, gives ErrInvalidTopic with Thing set when it is known,
// so the service can answer on topic + "/rejected".
func ParseTopic(name string) (Topic, error) {
	rest, ok := strings.CutPrefix(name, thingsPrefix)
	if !ok {
		return Topic{}, ErrNotJobsTopic
	}
	thing, rest, ok := strings.Cut(rest, "/")
	if !ok || (rest != "jobs" && !strings.HasPrefix(rest, "jobs/")) {
		return Topic{}, ErrNotJobsTopic
	}
	t := Topic{Thing: thing}
	if ValidateThingName(thing) != nil {
		return t, ErrInvalidTopic
	}
	levels := strings.Split(strings.TrimPrefix(rest, "jobs"), "/")[1:]
	if n := len(levels); n > 0 {
		switch Reply(levels[n-1]) {
		case ReplyAccepted, ReplyRejected:
			t.Reply = Reply(levels[n-1])
			levels = levels[:n-1]
		}
	}
	switch len(levels) {
	case 1:
		switch levels[0] {
		case "get":
			t.Op = OpGetPending
		case "start-next":
			t.Op = OpStartNext
		case "notify":
			t.Op = OpNotify
		case "notify-next":
			t.Op = OpNotifyNext
		}
		if (t.Op == OpNotify || t.Op == OpNotifyNext) && t.Reply != ReplyNone {
			t.Op = 0
		}
	case 2:
		t.JobID = levels[0]
		switch levels[1] {
		case "get":
			t.Op = OpDescribe
			if ValidateJobIDOrNext(t.JobID) != nil {
				t.Op = 0
			}
		case "update":
			t.Op = OpUpdate
			if ValidateJobID(t.JobID) != nil {
				t.Op = 0
			}
		}
	}
	if t.Op == 0 {
		return Topic{Thing: thing}, ErrInvalidTopic
	}
	return t, nil
}
