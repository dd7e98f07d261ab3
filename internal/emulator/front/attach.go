package front

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
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

// Attachment serves the engine as a client of an existing broker (attach
// mode). A plain broker cannot answer only the requester: replies are
// published on the reply topic like any message, so requesters must
// subscribe to it (the iotjobs CLI does) and anyone subscribed sees them.
type Attachment struct {
	conn     *mqttclient.Conn
	service  service
	requests chan engine.Message // received requests, for the engine
	outbox   chan engine.Message // replies and notifications, for the broker
	stop     chan struct{}
	ctx      context.Context // the handlers' context; Close cancels it
	cancel   context.CancelFunc
	workers  sync.WaitGroup
}

// Attach connects to the broker at brokerURL with auto-reconnect and
// subscribes to engine.RequestFilters (again after every reconnect). ctx
// bounds the first connection and subscription.
func Attach(ctx context.Context, brokerURL string, opts Options) (*Attachment, error) {
	ep, err := mqttclient.ParseEndpoint(brokerURL)
	if err != nil {
		return nil, err
	}
	id, err := serviceClientID()
	if err != nil {
		return nil, err
	}
	a := &Attachment{
		requests: make(chan engine.Message, queueLen),
		outbox:   make(chan engine.Message, queueLen),
		stop:     make(chan struct{}),
	}
	a.service = newService(opts, func(_ context.Context, _ engine.Request, reply engine.Message) error {
		a.Notify(reply)
		return nil
	})
	log := a.service.log.With("component", "attach")
	a.conn, err = mqttclient.Dial(ctx, mqttclient.Config{
		Endpoint:      ep,
		ClientID:      id,
		AutoReconnect: true,
		// A retained request would be applied again at every start.
		IgnoreRetained: true,
		OnConnect:      func() { log.Info("connected to the broker", "broker", ep.String(), "client_id", id) },
		OnConnectionLost: func(err error) {
			log.Warn("connection to the broker lost; reconnecting", "broker", ep.String(), "error", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("attach to %s: %w", ep, err)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.workers.Add(2)
	go a.serve()
	go a.publish(log)
	// The filters also match the service's own replies and notifications
	// when the broker routes them back; the engine ignores those topics, so
	// they are fed to it like any other message.
	if err := a.conn.Subscribe(ctx, engine.RequestFilters, a.receive); err != nil {
		a.Close()
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
func (a *Attachment) receive(topic string, payload []byte) {
	select {
	case a.requests <- engine.Message{Topic: topic, Payload: payload}:
	case <-a.stop:
	}
}

// serve feeds requests to the engine one at a time. A plain broker does
// not say who published, so a request carries no client id.
func (a *Attachment) serve() {
	defer a.workers.Done()
	for {
		select {
		case m := <-a.requests:
			a.service.serve(a.ctx, engine.NewRequest("", m.Topic, m.Payload))
		case <-a.stop:
			return
		}
	}
}

// Notify queues a publication (a reply or a notification) for the broker.
func (a *Attachment) Notify(m engine.Message) {
	select {
	case a.outbox <- m:
	case <-a.stop:
	}
}

// publish sends queued publications in order, each at QoS 1. One that fails
// (the connection is down, the broker does not acknowledge) is dropped, as
// AWS IoT drops what it cannot deliver to a disconnected client.
func (a *Attachment) publish(log *slog.Logger) {
	defer a.workers.Done()
	for {
		select {
		case m := <-a.outbox:
			ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
			if err := a.conn.Publish(ctx, m.Topic, m.Payload); err != nil {
				log.Warn("publication dropped", "topic", m.Topic, "error", err)
			}
			cancel()
		case <-a.stop:
			return
		}
	}
}

// Close stops the workers, dropping whatever is still queued, and
// disconnects.
func (a *Attachment) Close() error {
	a.cancel()
	close(a.stop)
	a.workers.Wait()
	a.conn.Close()
	return nil
}
