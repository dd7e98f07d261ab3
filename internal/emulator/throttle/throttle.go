// Package throttle applies AWS IoT Core's rate limits to the emulator, on
// demand (iotjobs emulator --throttle): the Jobs data plane's requests per
// second per account, answered RequestThrottled beyond them, and the
// message broker's publishes per connection and connects per client id,
// which the embedded broker enforces (front.Options).
package throttle

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/emulator/front"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// Limits are rates per second; 0 is no limit.
type Limits struct {
	// Reads and Writes are the Jobs data plane's requests per account:
	// get-pending and describe are reads, start-next and update writes.
	Reads, Writes float64
	// Publishes is per MQTT connection, the excess discarded.
	Publishes float64
	// Connects is per client id, the excess refused.
	Connects float64
}

// AWS are AWS IoT Core's defaults (AWS general reference, "AWS IoT Core
// endpoints and quotas": Jobs device API 200 TPS per account for
// DescribeJobExecution and GetPendingJobExecutions, and for
// StartNextPendingJobExecution and UpdateJobExecution; 100 publish requests
// per second per connection; 1 connect request per second per client id).
var AWS = Limits{Reads: 200, Writes: 200, Publishes: 100, Connects: 1}

// On reports whether any limit is set.
func (l Limits) On() bool { return l != Limits{} }

func (l Limits) String() string {
	var parts []string
	for _, p := range []struct {
		key   string
		value float64
	}{{"reads", l.Reads}, {"writes", l.Writes}, {"publishes", l.Publishes}, {"connects", l.Connects}} {
		if p.value > 0 {
			parts = append(parts, p.key+"="+strconv.FormatFloat(p.value, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}

// Parse reads --throttle: "aws" for AWS's defaults, and/or key=value
// pairs (reads, writes, publishes, connects, in per second) separated by
// commas, e.g. "aws,reads=10" or "writes=5". "" is no throttling.
func Parse(s string) (Limits, error) {
	var l Limits
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.EqualFold(part, "aws") {
			l = AWS
			continue
		}
		key, value, ok := strings.Cut(part, "=")
		n, err := strconv.ParseFloat(value, 64)
		if !ok || err != nil || n < 0 {
			return Limits{}, fmt.Errorf("%q: want aws, or KEY=N with N a rate per second such as 200", part)
		}
		switch strings.ToLower(key) {
		case "reads":
			l.Reads = n
		case "writes":
			l.Writes = n
		case "publishes":
			l.Publishes = n
		case "connects":
			l.Connects = n
		default:
			return Limits{}, fmt.Errorf("%q: the limits are reads, writes, publishes and connects", key)
		}
	}
	return l, nil
}

// handler answers the Jobs requests over the account's rates
// RequestThrottled, before the engine sees them.
type handler struct {
	next          front.Handler
	reads, writes *rate.Limiter
	limits        Limits
	log           *slog.Logger
}

// Handler wraps next with the account's Jobs request rates of l.
func Handler(next front.Handler, l Limits, log *slog.Logger) front.Handler {
	if l.Reads <= 0 && l.Writes <= 0 {
		return next
	}
	return handler{next: next, reads: front.NewLimiter(l.Reads), writes: front.NewLimiter(l.Writes), limits: l, log: log}
}

func (h handler) HandlePublish(ctx context.Context, req engine.Request) (engine.Message, bool) {
	t, err := jobs.ParseTopic(req.Topic)
	if err != nil || !t.Op.Request() || t.Reply != jobs.ReplyNone {
		return h.next.HandlePublish(ctx, req)
	}
	limiter, kind, limit := h.writes, "writes", h.limits.Writes
	if t.Op == jobs.OpGetPending || t.Op == jobs.OpDescribe {
		limiter, kind, limit = h.reads, "reads", h.limits.Reads
	}
	if limiter == nil || limiter.Allow() {
		return h.next.HandlePublish(ctx, req)
	}
	h.log.Warn("request throttled", "topic", req.Topic, "client", req.ClientID, "limit", fmt.Sprintf("%s=%g/s", kind, limit))
	msg := fmt.Sprintf("Rate exceeded: the account's Jobs %s are limited to %g per second", kind, limit)
	body, _ := jobs.Encode(jobs.Reject(jobs.CodeRequestThrottled, msg).Response(jobs.ClientTokenOf(req.Payload), time.Now().Unix()))
	return engine.Message{Topic: t.Rejected().String(), Payload: body}, true
}
