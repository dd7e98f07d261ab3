package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/fatih/color"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// Notification is one line of a watch: a notify or notify-next message, or
// the get-pending reply that resynchronises a watch after a reconnect.
type Notification struct {
	Topic   string
	Payload []byte
	At      time.Time // when it was received
	// Resync marks a get-pending reply standing in for the notifications
	// that may have been missed while disconnected.
	Resync bool
}

// nothingPending is how an empty pending set or queue head reads.
const nothingPending = "(nothing pending)"

// Notification prints n on one line, written at once so that a reader of
// a pipe sees it as soon as it arrives. JSON is
// {"topic":"...","resync":true,"payload":{...}} with the payload compacted
// and "resync" only on resync lines; pretty is a summary for a person:
// time, stream, execution ids and statuses.
func (p *Printer) Notification(n Notification) error {
	var line []byte
	if p.format == JSON {
		line = notificationJSON(n)
	} else {
		line = p.notificationLine(n)
	}
	_, err := p.out.Write(line)
	return err
}

func notificationJSON(n Notification) []byte {
	var b bytes.Buffer
	topic, _ := json.Marshal(n.Topic) // a string always marshals
	b.WriteString(`{"topic":`)
	b.Write(topic)
	if n.Resync {
		b.WriteString(`,"resync":true`)
	}
	b.WriteString(`,"payload":`)
	if json.Valid(n.Payload) {
		_ = json.Compact(&b, n.Payload) // cannot fail on valid JSON
	} else {
		// Keep the line valid JSON and what was sent visible.
		s, _ := json.Marshal(string(n.Payload))
		b.Write(s)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

func (p *Printer) notificationLine(n Notification) []byte {
	stream, summary := p.summarize(n)
	// Pad before colouring: escape codes would count towards the width.
	return fmt.Appendf(nil, "%s %s %s\n", p.Paint(jobs.HumanTime(n.At), color.Faint),
		p.Paint(fmt.Sprintf("%-12s", stream), color.Bold), summary)
}

// summarize names the stream of n and sums up its payload; a payload that
// does not decode is shown as it came.
func (p *Printer) summarize(n Notification) (stream, summary string) {
	raw := string(n.Payload)
	if n.Resync {
		var r jobs.GetPendingResponse
		if json.Unmarshal(n.Payload, &r) != nil {
			return "resync", raw
		}
		return "resync", p.pendingSet(map[jobs.Status][]jobs.JobExecutionSummary{
			jobs.StatusInProgress: r.InProgressJobs, jobs.StatusQueued: r.QueuedJobs,
		})
	}
	topic, err := jobs.ParseTopic(n.Topic)
	if err != nil {
		return n.Topic, raw
	}
	switch topic.Op {
	case jobs.OpNotify:
		var m jobs.NotifyMessage
		if json.Unmarshal(n.Payload, &m) != nil {
			return "notify", raw
		}
		return "notify", p.pendingSet(m.Jobs)
	case jobs.OpNotifyNext:
		var m jobs.NotifyNextMessage
		if json.Unmarshal(n.Payload, &m) != nil {
			return "notify-next", raw
		}
		if m.Execution == nil {
			return "notify-next", nothingPending
		}
		x := m.Execution
		return "notify-next", fmt.Sprintf("%s %s v%d", x.JobID, p.Status(x.Status), x.VersionNumber)
	}
	return n.Topic, raw
}

// pendingOrder is the service's order of the pending lists, IN_PROGRESS
// first, then any other status a payload might carry.
func pendingOrder() []jobs.Status {
	order := []jobs.Status{jobs.StatusInProgress, jobs.StatusQueued}
	for _, s := range jobs.Statuses {
		if !s.Pending() {
			order = append(order, s)
		}
	}
	return order
}

// pendingSet reads "IN_PROGRESS job-1 (v2) · QUEUED job-2, job-3". A
// version is shown only once an execution has been updated (above 1),
// where it is worth knowing.
func (p *Printer) pendingSet(set map[jobs.Status][]jobs.JobExecutionSummary) string {
	var groups []string
	for _, status := range pendingOrder() {
		list := set[status]
		if len(list) == 0 {
			continue
		}
		ids := make([]string, len(list))
		for i, x := range list {
			ids[i] = x.JobID
			if x.VersionNumber > 1 {
				ids[i] += fmt.Sprintf(" (v%d)", x.VersionNumber)
			}
		}
		groups = append(groups, p.Status(status)+" "+strings.Join(ids, ", "))
	}
	if len(groups) == 0 {
		return nothingPending
	}
	return strings.Join(groups, " · ")
}

// Status is an execution status in its colour: queued cyan, in progress
// yellow, succeeded green, failed red, the rest magenta.
func (p *Printer) Status(s jobs.Status) string {
	switch s {
	case jobs.StatusQueued:
		return p.Paint(string(s), color.FgCyan)
	case jobs.StatusInProgress:
		return p.Paint(string(s), color.FgYellow)
	case jobs.StatusSucceeded:
		return p.Paint(string(s), color.FgGreen)
	case jobs.StatusFailed, jobs.StatusTimedOut, jobs.StatusRejected:
		return p.Paint(string(s), color.FgRed)
	}
	return p.Paint(string(s), color.FgMagenta)
}

// Paint colours s for stdout when the printer may; fatih/color's global
// switch follows stderr, so the decision is applied per colour.
func (p *Printer) Paint(s string, attrs ...color.Attribute) string {
	c := color.New(attrs...)
	if p.color {
		c.EnableColor()
	} else {
		c.DisableColor()
	}
	return c.Sprint(s)
}
