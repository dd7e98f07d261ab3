package mqttclient_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// watchOn dials a Watch of filters on the broker at addr, closed when the
// test ends; ctx bounds the test.
func watchOn(t *testing.T, addr string, filters ...string) (*mqttclient.Watch, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	w, err := mqttclient.DialWatch(ctx, mqttclient.Config{Endpoint: endpoint(t, addr, false), ClientID: "watcher"}, filters)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w, ctx
}

// TestWatchSurvivesBrokerRestart: messages arrive in order, a broker
// restart shows as Lost then Reconnected, and after Reconnected the filters
// are subscribed again without the caller doing anything.
func TestWatchSurvivesBrokerRestart(t *testing.T) {
	broker := testutil.StartMosquitto(t)
	ep := endpoint(t, broker.Addr, false)
	w, ctx := watchOn(t, broker.Addr, "a/+")

	pub := dial(t, mqttclient.Config{Endpoint: ep, ClientID: "pub"})
	for _, topic := range []string{"a/1", "b/1", "a/2"} {
		if err := pub.Publish(ctx, topic, []byte(topic)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"a/1", "a/2"} {
		e, err := w.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != mqttclient.Message || e.Topic != want || string(e.Payload) != want || e.At.IsZero() {
			t.Fatalf("event %+v, want message on %s", e, want)
		}
	}

	broker.Restart()
	for _, want := range []mqttclient.EventKind{mqttclient.Lost, mqttclient.Reconnected} {
		e, err := w.Next(ctx)
		// Attempts made while the broker is still down are told as they
		// fail, with why, numbered from 2 for the next.
		for err == nil && want == mqttclient.Reconnected && e.Kind == mqttclient.Retrying {
			if e.Err == nil || e.Attempt < 2 {
				t.Fatalf("a failed attempt told as %+v", e)
			}
			e, err = w.Next(ctx)
		}
		if err != nil {
			t.Fatalf("waiting for event %d: %v", want, err)
		}
		if e.Kind != want {
			t.Fatalf("event %+v, want kind %d", e, want)
		}
	}
	// The publisher lost its connection too; a fresh one publishes after
	// the watch's re-subscription, which Reconnected promises is done.
	pub = dial(t, mqttclient.Config{Endpoint: ep, ClientID: "pub-2"})
	if err := pub.Publish(ctx, "a/3", []byte("x")); err != nil {
		t.Fatal(err)
	}
	e, err := w.Next(ctx)
	if err != nil || e.Kind != mqttclient.Message || e.Topic != "a/3" {
		t.Fatalf("after the reconnect: %+v %v", e, err)
	}
}

// TestWatchNextStopsOnContext: Next returns once its context is done.
func TestWatchNextStopsOnContext(t *testing.T) {
	broker := testutil.StartMosquitto(t)
	w, ctx := watchOn(t, broker.Addr, "a")
	stopped, stop := context.WithCancel(ctx)
	stop()
	if _, err := w.Next(stopped); err != context.Canceled {
		t.Fatalf("Next on a cancelled context: %v", err)
	}
}

// TestWatchTap: a tap reads the events that come after it, as the Watch
// does; closing it ends the tap only, and the Watch reads on.
func TestWatchTap(t *testing.T) {
	broker := testutil.StartMosquitto(t)
	ep := endpoint(t, broker.Addr, false)
	w, ctx := watchOn(t, broker.Addr, "a/+")
	pub := dial(t, mqttclient.Config{Endpoint: ep, ClientID: "pub"})
	publish := func(topic string) {
		if err := pub.Publish(ctx, topic, []byte(topic)); err != nil {
			t.Fatal(err)
		}
	}
	next := func(w *mqttclient.Watch, want string) {
		t.Helper()
		if e, err := w.Next(ctx); err != nil || e.Topic != want {
			t.Fatalf("event %+v, %v, want %s", e, err, want)
		}
	}
	publish("a/1")
	next(w, "a/1")
	tap := w.Tap()
	publish("a/2")
	next(w, "a/2")
	next(tap, "a/2")
	tap.Close()
	publish("a/3")
	next(w, "a/3") // the connection is still there
	short, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	if e, err := tap.Next(short); err == nil {
		t.Errorf("a closed tap got %+v", e)
	}
}

// TestSubscribeChunksByEight: AWS IoT closes a connection whose SUBSCRIBE
// carries more than 8 filters (the emulator does too); ten filters go in
// two SUBSCRIBEs.
func TestSubscribeChunksByEight(t *testing.T) {
	emu := testutil.StartEmulator(t)
	var filters []string
	for i := range 10 {
		filters = append(filters, "f/"+strconv.Itoa(i))
	}
	w, ctx := watchOn(t, emu.MQTTAddr(), filters...)
	pub := dial(t, mqttclient.Config{Endpoint: endpoint(t, emu.MQTTAddr(), false), ClientID: "pub"})
	if err := pub.Publish(ctx, "f/9", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if e, err := w.Next(ctx); err != nil || e.Topic != "f/9" {
		t.Fatalf("event %+v, %v", e, err)
	}
}

// TestTakeoverPausesTheFirstReconnect: a watch whose client id another
// connection takes over waits the takeover pause before its first attempt
// to reconnect, rather than knocking the other off at once. paho runs the
// reconnect loop and the loss handler, which decides the pause, at the
// same moment: the first attempt must wait for the handler.
func TestTakeoverPausesTheFirstReconnect(t *testing.T) {
	broker := testutil.StartMosquitto(t)
	w, ctx := watchOn(t, broker.Addr, "a/+")
	taker := dial(t, mqttclient.Config{Endpoint: endpoint(t, broker.Addr, false), ClientID: "watcher"})
	e, err := w.Next(ctx)
	if err != nil || e.Kind != mqttclient.Lost || e.RetryIn < time.Second {
		t.Fatalf("after the takeover: %+v %v", e, err)
	}
	lost, pause := e.At, e.RetryIn
	for {
		if e, err = w.Next(ctx); err != nil {
			t.Fatal(err)
		}
		if e.Kind == mqttclient.Reconnected {
			break
		}
	}
	// A lower bound: a slow machine only makes it longer.
	if waited := e.At.Sub(lost); waited < pause/2 {
		t.Errorf("the watch reconnected %s after the takeover, without its pause", waited.Round(time.Millisecond))
	}
	taker.Close()
}
