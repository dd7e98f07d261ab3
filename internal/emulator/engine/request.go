package engine

import (
	"context"
	"errors"
	"strings"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// Request is one publication of a client that the front hands the engine:
// who sent it, on which topic, and the thing the topic names. Build it with
// NewRequest, which parses the topic once for every hook and the engine.
type Request struct {
	ClientID string
	Topic    string
	Payload  []byte
	// Thing is the thing of a $aws/things/THING/jobs/... topic, else "".
	Thing string

	parsed   jobs.Topic
	parseErr error
	ready    bool // built by NewRequest
}

// NewRequest is the request of clientID's publication of payload on topic.
func NewRequest(clientID, topic string, payload []byte) Request {
	r := Request{ClientID: clientID, Topic: topic, Payload: payload, ready: true}
	r.parsed, r.parseErr = jobs.ParseTopic(topic)
	if r.parseErr == nil {
		r.Thing = r.parsed.Thing
	}
	return r
}

// HandlePublish handles one publication by a device. For a Jobs request topic,
// or a topic in the $aws/things/T/jobs/ namespace that maps to no API, it
// returns the reply to deliver to the publishing client only, with ok true.
// Anything else (reply and notify topics, topics outside the namespace) is
// ignored: ok is false, as it is once ctx is done (the front is closing).
func (e *Engine) HandlePublish(ctx context.Context, req Request) (reply Message, ok bool) {
	if ctx.Err() != nil {
		return Message{}, false
	}
	if !req.ready {
		req = NewRequest(req.ClientID, req.Topic, req.Payload)
	}
	topic, payload := req.Topic, req.Payload
	t, err := req.parsed, req.parseErr
	switch {
	case errors.Is(err, jobs.ErrNotJobsTopic):
		return Message{}, false
	case err != nil:
		// Never answer what looks like a reply: in attach mode the engine's
		// own replies come back to it, and answering them would loop.
		if isReplyTopic(topic) {
			return Message{}, false
		}
		rej := jobs.Reject(jobs.CodeInvalidTopic, "The topic "+topic+" does not map to any Jobs API")
		return e.rejected(topic, payload, rej), true
	case !t.Op.Request() || t.Reply != jobs.ReplyNone:
		return Message{}, false
	}
	now := e.clock.Now()
	var resp any
	var rej *jobs.Rejection
	switch t.Op {
	case jobs.OpGetPending:
		resp, rej = e.getPending(t.Thing, payload, now)
	case jobs.OpStartNext:
		resp, rej = e.startNext(t.Thing, payload, now)
	case jobs.OpDescribe:
		resp, rej = e.describe(t.Thing, t.JobID, payload, now)
	case jobs.OpUpdate:
		resp, rej = e.update(t.Thing, t.JobID, payload, now)
	}
	if rej != nil {
		return e.rejected(topic, payload, rej), true
	}
	body, err := jobs.Encode(resp)
	if err != nil {
		e.log.Error("encode reply", "topic", topic, "err", err)
		return e.rejected(topic, payload, jobs.Reject(jobs.CodeInternalError, "The reply could not be encoded")), true
	}
	return Message{Topic: topic + "/" + string(jobs.ReplyAccepted), Payload: body}, true
}

func isReplyTopic(topic string) bool {
	return strings.HasSuffix(topic, "/"+string(jobs.ReplyAccepted)) || strings.HasSuffix(topic, "/"+string(jobs.ReplyRejected))
}

func (e *Engine) rejected(topic string, payload []byte, rej *jobs.Rejection) Message {
	body, _ := jobs.Encode(rej.Response(jobs.ClientTokenOf(payload), e.clock.Now().Unix()))
	return Message{Topic: topic + "/" + string(jobs.ReplyRejected), Payload: body}
}
