package testutil

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// DeviceWait bounds every wait of a Device.
const DeviceWait = 5 * time.Second

// Received is one message a Device got.
type Received struct {
	Topic   string
	Payload []byte
	At      time.Time // when it arrived
}

// Field decodes one top-level JSON field of the payload as a string.
func (r Received) Field(t testing.TB, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Payload, &m); err != nil {
		t.Fatalf("payload on %s is not a JSON object: %v: %s", r.Topic, err, r.Payload)
	}
	s, _ := m[name].(string)
	return s
}

// Device is a paho client acting as a device, over real TCP.
type Device struct {
	t testing.TB
	// Client is the paho client, Msgs every message the server sent it,
	// subscribed or not, and Lost the error of a lost connection.
	Client paho.Client
	Msgs   chan Received
	Lost   chan error
}

// DeviceOption changes how a Device connects.
type DeviceOption func(*paho.ClientOptions)

// WithDeviceTLS connects over TLS with cfg.
func WithDeviceTLS(cfg *tls.Config) DeviceOption {
	return func(o *paho.ClientOptions) { o.SetTLSConfig(cfg) }
}

// ConnectDevice connects with MQTT 3.1.1 and a clean session. Every message
// the server sends, subscribed or not, lands in msgs.
func ConnectDevice(t testing.TB, brokerURL, clientID string, opts ...DeviceOption) *Device {
	t.Helper()
	d, err := DialDevice(t, brokerURL, clientID, opts...)
	if err != nil {
		t.Fatalf("connect %s to %s: %v", clientID, brokerURL, err)
	}
	return d
}

// DialDevice is ConnectDevice returning the error instead of failing.
func DialDevice(t testing.TB, brokerURL, clientID string, opts ...DeviceOption) (*Device, error) {
	t.Helper()
	d := &Device{t: t, Msgs: make(chan Received, 100), Lost: make(chan error, 1)}
	o := paho.NewClientOptions().
		AddBroker(strings.Replace(strings.Replace(brokerURL, "mqtts://", "tls://", 1), "mqtt://", "tcp://", 1)).
		SetClientID(clientID).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(DeviceWait).
		SetOrderMatters(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			d.Msgs <- Received{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...), At: time.Now()}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) { d.Lost <- err })
	for _, opt := range opts {
		opt(o)
	}
	d.Client = paho.NewClient(o)
	token := d.Client.Connect()
	if !token.WaitTimeout(DeviceWait) {
		return nil, fmt.Errorf("no CONNACK within %s", DeviceWait)
	}
	if err := token.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { d.Client.Disconnect(0) })
	return d, nil
}

// Subscribe subscribes at QoS 1.
func (d *Device) Subscribe(filters ...string) {
	d.t.Helper()
	req := map[string]byte{}
	for _, f := range filters {
		req[f] = 1
	}
	token := d.Client.SubscribeMultiple(req, nil)
	if !token.WaitTimeout(DeviceWait) || token.Error() != nil {
		d.t.Fatalf("subscribe %v: %v", filters, token.Error())
	}
}

// Publish publishes at QoS 1 and waits for the PUBACK.
func (d *Device) Publish(topic, payload string) {
	d.t.Helper()
	token := d.Client.Publish(topic, 1, false, payload)
	if !token.WaitTimeout(DeviceWait) || token.Error() != nil {
		d.t.Fatalf("publish %s: %v", topic, token.Error())
	}
}

// Next returns the next message, failing the test after DeviceWait.
func (d *Device) Next() Received {
	d.t.Helper()
	select {
	case m := <-d.Msgs:
		return m
	case <-time.After(DeviceWait):
		d.t.Fatal("no message within", DeviceWait)
		return Received{}
	}
}

// NextOn returns the next message on topic, skipping others.
func (d *Device) NextOn(topic string) Received {
	d.t.Helper()
	deadline := time.After(DeviceWait)
	for {
		select {
		case m := <-d.Msgs:
			if m.Topic == topic {
				return m
			}
		case <-deadline:
			d.t.Fatalf("no message on %s within %s", topic, DeviceWait)
		}
	}
}

// Quiet fails the test if any message arrives within d.
func (d *Device) Quiet(within time.Duration) {
	d.t.Helper()
	select {
	case m := <-d.Msgs:
		d.t.Fatalf("unexpected message on %s: %s", m.Topic, m.Payload)
	case <-time.After(within):
	}
}
