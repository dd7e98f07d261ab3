package emulator_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// The tests speak to the emulator as a device would, with paho over real
// TCP, and as a spy that watches everything under $aws/things/+/jobs/#.

const waitFor = 5 * time.Second

type received struct {
	Topic   string
	Payload []byte
}

// field decodes one top-level JSON field of the payload as a string.
func (r received) field(t *testing.T, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Payload, &m); err != nil {
		t.Fatalf("payload on %s is not a JSON object: %v: %s", r.Topic, err, r.Payload)
	}
	s, _ := m[name].(string)
	return s
}

type mqttDevice struct {
	t      *testing.T
	client paho.Client
	msgs   chan received
	lost   chan error
}

type deviceOption func(*paho.ClientOptions)

func withTLS(cfg *tls.Config) deviceOption {
	return func(o *paho.ClientOptions) { o.SetTLSConfig(cfg) }
}

// connectDevice connects with MQTT 3.1.1 and a clean session. Every message
// the server sends, subscribed or not, lands in msgs.
func connectDevice(t *testing.T, brokerURL, clientID string, opts ...deviceOption) *mqttDevice {
	t.Helper()
	d, err := dialDevice(t, brokerURL, clientID, opts...)
	if err != nil {
		t.Fatalf("connect %s to %s: %v", clientID, brokerURL, err)
	}
	return d
}

func dialDevice(t *testing.T, brokerURL, clientID string, opts ...deviceOption) (*mqttDevice, error) {
	t.Helper()
	d := &mqttDevice{t: t, msgs: make(chan received, 100), lost: make(chan error, 1)}
	o := paho.NewClientOptions().
		AddBroker(strings.Replace(strings.Replace(brokerURL, "mqtts://", "tls://", 1), "mqtt://", "tcp://", 1)).
		SetClientID(clientID).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(waitFor).
		SetOrderMatters(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			d.msgs <- received{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...)}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) { d.lost <- err })
	for _, opt := range opts {
		opt(o)
	}
	d.client = paho.NewClient(o)
	token := d.client.Connect()
	if !token.WaitTimeout(waitFor) {
		return nil, fmt.Errorf("no CONNACK within %s", waitFor)
	}
	if err := token.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { d.client.Disconnect(0) })
	return d, nil
}

func (d *mqttDevice) subscribe(filters ...string) {
	d.t.Helper()
	req := map[string]byte{}
	for _, f := range filters {
		req[f] = 1
	}
	token := d.client.SubscribeMultiple(req, nil)
	if !token.WaitTimeout(waitFor) || token.Error() != nil {
		d.t.Fatalf("subscribe %v: %v", filters, token.Error())
	}
}

func (d *mqttDevice) publish(topic, payload string) {
	d.t.Helper()
	token := d.client.Publish(topic, 1, false, payload)
	if !token.WaitTimeout(waitFor) || token.Error() != nil {
		d.t.Fatalf("publish %s: %v", topic, token.Error())
	}
}

// next returns the next message, failing the test after waitFor.
func (d *mqttDevice) next() received {
	d.t.Helper()
	select {
	case m := <-d.msgs:
		return m
	case <-time.After(waitFor):
		d.t.Fatal("no message within", waitFor)
		return received{}
	}
}

// nextOn returns the next message on topic, skipping others.
func (d *mqttDevice) nextOn(topic string) received {
	d.t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case m := <-d.msgs:
			if m.Topic == topic {
				return m
			}
		case <-deadline:
			d.t.Fatalf("no message on %s within %s", topic, waitFor)
		}
	}
}

// quiet fails the test if any message arrives within d.
func (d *mqttDevice) quiet(within time.Duration) {
	d.t.Helper()
	select {
	case m := <-d.msgs:
		d.t.Fatalf("unexpected message on %s: %s", m.Topic, m.Payload)
	case <-time.After(within):
	}
}

func createJob(t *testing.T, emu *testutil.Emulator, jobID string, things ...string) {
	t.Helper()
	_, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: jobID, Targets: things, Document: `{"operation":"reboot"}`})
	if err != nil {
		t.Fatalf("create job %s: %v", jobID, err)
	}
}

func decode(t *testing.T, m received, v any) {
	t.Helper()
	if err := json.Unmarshal(m.Payload, v); err != nil {
		t.Fatalf("payload on %s: %v: %s", m.Topic, err, m.Payload)
	}
}

// waitGoroutines waits until no more goroutines run than before, and fails
// with every goroutine's stack if that does not happen within waitFor.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left running, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
