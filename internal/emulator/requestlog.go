package emulator

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/emulator/front"
)

// requestLog logs each device request and its reply at debug level (the
// emulator's --verbose): topic, client id, outcome and latency. It costs
// nothing more than a level check when debug is off.
type requestLog struct {
	next front.Handler
	log  *slog.Logger
}

func (h requestLog) HandlePublish(ctx context.Context, req engine.Request) (engine.Message, bool) {
	if !h.log.Enabled(ctx, slog.LevelDebug) {
		return h.next.HandlePublish(ctx, req)
	}
	start := time.Now()
	reply, ok := h.next.HandlePublish(ctx, req)
	latency := time.Since(start)
	outcome := "no reply"
	switch {
	case !ok:
	case strings.HasSuffix(reply.Topic, "/accepted"):
		outcome = "accepted"
	case strings.HasSuffix(reply.Topic, "/rejected"):
		var r struct{ Code string }
		_ = json.Unmarshal(reply.Payload, &r)
		outcome = "rejected " + r.Code
	}
	h.log.Debug("request", "topic", req.Topic, "client", req.ClientID, "outcome", outcome, "latency", latency.Round(time.Microsecond))
	return reply, ok
}
