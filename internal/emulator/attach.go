package emulator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

const (
	// queueLen bounds the requests waiting for the engine and the
	// publications waiting for the broker. When one is full its producer
	// waits: back-pressure on the broker instead of unbounded memory.
	queueLen = 1024
	// publishTimeout bounds the wait for one PUBACK, so that a stalled
	// broker delays the queue but cannot stop it.
	publishTimeout = 10 * time.Second
)

// attachment serves the engine as a client of an existing broker (attach
// mode). A plain broker cannot answer only the requester: replies are
// published on the reply topic like any message, so requesters must
// subscribe to it (the iotjobs CLI does) and anyone subscribed sees them.
type attachment struct {
	conn     *mqttclient.Conn
	log      *slog.Logger
	requests chan Message // received requests, for the engine
	outbox   chan Message // replies and notifications, for the broker
	stop     chan struct{}
	workers  sync.WaitGroup
}

// attach connects to the broker at brokerURL with auto-reconnect and
// subscribes to RequestFilters (again after every reconnect). ctx bounds
// the first connection and subscription.
func attach(ctx context.Context, brokerURL string, engine requestHandler, log *slog.Logger) (*attachment, error) {
	ep, err := mqttclient.ParseEndpoint(brokerURL)
	if err != nil {
		return nil, err
	}
	id, err := serviceClientID()
	if err != nil {
		return nil, err
	}
	conn, err := mqttclient.Dial(ctx, mqttclient.Config{
		Endpoint:      ep,
		ClientID:      id,
		AutoReconnect: true,
		OnConnect:     func() { log.Info("connected to the broker", "broker", ep.String(), "client_id", id) },
		OnConnectionLost: func(err error) {
			log.Warn("connection to the broker lost; reconnecting", "broker", ep.String(), "error", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", ep, err)
	}
	a := &attachment{
		conn:     conn,
		log:      log,
		requests: make(chan Message, queueLen),
		outbox:   make(chan Message, queueLen),
		stop:     make(chan struct{}),
	}
	a.workers.Add(2)
	go a.serve(engine)
	go a.publish()
	// The filters also match the service's own replies and notifications
	// when the broker routes them back; the engine ignores those topics, so
	// they are fed to it like any other message.
	if err := conn.Subscribe(ctx, RequestFilters, a.receive); err != nil {
		a.close()
		return nil, fmt.Errorf("attach to %s: %w", ep, err)
	}
	return a, nil
}

// serviceClientID is unique per run, so that two emulators on one broker
// do not take each other's session over in a reconnect loop.
func serviceClientID() (string, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "iotjobs-emulator-" + hex.EncodeToString(b), nil
}

// receive runs on the MQTT client's goroutine; it only queues the request.
func (a *attachment) receive(topic string, payload []byte) {
	select {
	case a.requests <- Message{Topic: topic, Payload: payload}:
	case <-a.stop:
	}
}

// serve feeds requests to the engine one at a time and queues the replies.
func (a *attachment) serve(engine requestHandler) {
	defer a.workers.Done()
	for {
		select {
		case m := <-a.requests:
			if reply, ok := engine.HandlePublish(m.Topic, m.Payload); ok {
				a.notify(reply)
			}
		case <-a.stop:
			return
		}
	}
}

// notify queues a publication (a reply or a notification) for the broker.
// The engine calls it synchronously, so it only queues.
func (a *attachment) notify(m Message) {
	select {
	case a.outbox <- m:
	case <-a.stop:
	}
}

// publish sends queued publications in order, each at QoS 1. One that fails
// (the connection is down, the broker does not acknowledge) is dropped, as
// AWS IoT drops what it cannot deliver to a disconnected client.
func (a *attachment) publish() {
	defer a.workers.Done()
	for {
		select {
		case m := <-a.outbox:
			ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
			if err := a.conn.Publish(ctx, m.Topic, m.Payload); err != nil {
				a.log.Warn("publication dropped", "topic", m.Topic, "error", err)
			}
			cancel()
		case <-a.stop:
			return
		}
	}
}

// close stops the workers, dropping whatever is still queued, and
// disconnects.
func (a *attachment) close() error {
	close(a.stop)
	a.workers.Wait()
	a.conn.Close()
	return nil
}
