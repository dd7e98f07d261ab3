package front_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/emulator/front"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// echo answers every Jobs request with its own payload on .../accepted
// (and, as the engine, never a reply), and keeps the requests it saw.
type echo struct {
	mu   sync.Mutex
	seen []engine.Request
}

func (h *echo) HandlePublish(_ context.Context, req engine.Request) (engine.Message, bool) {
	h.mu.Lock()
	h.seen = append(h.seen, req)
	h.mu.Unlock()
	if req.Thing == "" || strings.HasSuffix(req.Topic, "/accepted") {
		return engine.Message{}, false
	}
	return engine.Message{Topic: req.Topic + "/accepted", Payload: req.Payload}, true
}

// TestRepliesGoThroughTheMiddleware: the service hook hands the engine a
// request that says who sent it and for which thing, and every reply passes
// the middleware, outermost first, which may change or drop it.
func TestRepliesGoThroughTheMiddleware(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	var orderMu sync.Mutex
	note := func(s string) {
		orderMu.Lock()
		order = append(order, s)
		orderMu.Unlock()
	}
	outer := func(next front.Delivery) front.Delivery {
		return func(ctx context.Context, req engine.Request, reply engine.Message) error {
			note("outer")
			if string(req.Payload) == `"drop"` {
				return nil // a fault: the reply is lost
			}
			reply.Payload = append([]byte(`{"via":"middleware","was":`), append(reply.Payload, '}')...)
			return next(ctx, req, reply)
		}
	}
	inner := func(next front.Delivery) front.Delivery {
		return func(ctx context.Context, req engine.Request, reply engine.Message) error {
			note("inner")
			return next(ctx, req, reply)
		}
	}
	h := &echo{}
	b, err := front.StartBroker(l, nil, front.Options{Handler: h, Middleware: []front.Middleware{outer, inner}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	dev := testutil.ConnectDevice(t, "mqtt://"+l.Addr().String(), "client-7")
	dev.Publish("$aws/things/thing-7/jobs/get", `"drop"`)
	dev.Publish("$aws/things/thing-7/jobs/get", `{"n":1}`)
	got := dev.Next()
	if got.Topic != "$aws/things/thing-7/jobs/get/accepted" || string(got.Payload) != `{"via":"middleware","was":{"n":1}}` {
		t.Errorf("reply %s %s", got.Topic, got.Payload)
	}
	dev.Quiet(200 * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.seen) != 2 || h.seen[0].ClientID != "client-7" || h.seen[0].Thing != "thing-7" {
		t.Errorf("requests the engine saw: %+v", h.seen)
	}
	orderMu.Lock()
	defer orderMu.Unlock()
	if len(order) != 3 || order[0] != "outer" || order[1] != "outer" || order[2] != "inner" {
		t.Errorf("middleware ran %v; want outer (dropped), outer, inner", order)
	}
}

// TestAttachedRepliesGoThroughTheMiddleware: attach mode delivers through
// the same chain. A plain broker does not say who published, so the
// request has no client id.
func TestAttachedRepliesGoThroughTheMiddleware(t *testing.T) {
	mosquitto := testutil.StartMosquitto(t)
	var mu sync.Mutex
	wrapped := 0
	count := func(next front.Delivery) front.Delivery {
		return func(ctx context.Context, req engine.Request, reply engine.Message) error {
			mu.Lock()
			wrapped++
			mu.Unlock()
			return next(ctx, req, reply)
		}
	}
	h := &echo{}
	a, err := front.Attach(t.Context(), mosquitto.URL, front.Options{Handler: h, Middleware: []front.Middleware{count}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dev := testutil.ConnectDevice(t, mosquitto.URL, "client-8")
	dev.Subscribe("$aws/things/thing-8/jobs/get/accepted")
	dev.Publish("$aws/things/thing-8/jobs/get", `{"n":2}`)
	if got := dev.NextOn("$aws/things/thing-8/jobs/get/accepted"); string(got.Payload) != `{"n":2}` {
		t.Errorf("reply %s", got.Payload)
	}
	mu.Lock()
	defer mu.Unlock()
	if wrapped != 1 {
		t.Errorf("the middleware saw %d replies, want 1", wrapped)
	}
}
