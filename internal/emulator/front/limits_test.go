package front_test

import (
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/emulator/front"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestHugePacketIsRefusedBeforeAllocation: five bytes announcing a 256 MB
// packet, sent before CONNECT, close the connection at once and cost no
// memory, and the broker goes on serving.
func TestHugePacketIsRefusedBeforeAllocation(t *testing.T) {
	emu := testutil.StartEmulator(t)
	addr := emu.MQTTAddr()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	conns := make([]net.Conn, 5)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte{0x10, 0xff, 0xff, 0xff, 0x7f}); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("the broker kept the connection open (read: %v)", err)
		}
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Errorf("the heap grew by %d MiB for five announced packets", grown>>20)
	}
	testutil.ConnectDevice(t, emu.Endpoint, "after-the-probe")

	// A packet just under the cap is read; one over it closes the connection.
	dev := testutil.ConnectDevice(t, emu.Endpoint, "big-talker")
	dev.Publish("big/ok", string(make([]byte, 128*1024)))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	remaining := front.MaxPacketSize // remaining length + 1 byte header > the cap
	header := []byte{0x10, byte(remaining&0x7f | 0x80), byte(remaining>>7&0x7f | 0x80), byte(remaining >> 14)}
	if _, err := c.Write(header); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("a packet over the cap kept the connection open (read: %v)", err)
	}
}

// rawConnect is an MQTT 3.1.1 CONNECT with a clean session.
func rawConnect(clientID string, keepAlive uint16) []byte {
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, byte(keepAlive >> 8), byte(keepAlive)},
		byte(len(clientID)>>8), byte(len(clientID)))
	body = append(body, clientID...)
	return append([]byte{0x10, byte(len(body))}, body...)
}

// dialRaw connects and sends CONNECT, and returns the connection once its
// CONNACK arrived.
func dialRaw(t *testing.T, addr, clientID string, keepAlive uint16) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(rawConnect(clientID, keepAlive)); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK: % x, %v", ack, err)
	}
	return c
}

// closedWithin reads until the server closes c or d passes.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	return err == nil // io.Copy returns nil at EOF
}

// TestConnectDeadline: a client that says nothing (no CONNECT, no TLS
// handshake, no HTTP request headers) is cut off after ConnectTimeout.
func TestConnectDeadline(t *testing.T) {
	pki := testutil.NewPKI(t)
	emu := testutil.StartEmulator(t, testutil.WithTLS(pki.ServerCertFile, pki.ServerKeyFile),
		testutil.WithConfig(func(c *emulator.Config) { c.ConnectTimeout = 300 * time.Millisecond }))
	for name, addr := range map[string]string{
		"mqtt":  emu.MQTTAddr(),
		"mqtts": emu.MQTTSAddr,
		"http":  strings.TrimPrefix(emu.HTTPURL, "http://"),
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if name == "http" {
			_, _ = c.Write([]byte("GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n")) // and never the blank line
		}
		if !closedWithin(c, testutil.DeviceWait) {
			t.Errorf("%s: a silent client is still connected after %s", name, testutil.DeviceWait)
		}
	}
	// An idle HTTP keep-alive connection is closed after six of it.
	c, err := net.Dial("tcp", strings.TrimPrefix(emu.HTTPURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /jobs HTTP/1.1\r\nHost: " + strings.TrimPrefix(emu.HTTPURL, "http://") + "\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(c, testutil.DeviceWait) {
		t.Error("http: an idle keep-alive connection is still open")
	}
	// A client that connects in time keeps its connection.
	dev := testutil.ConnectDevice(t, emu.Endpoint, "prompt")
	time.Sleep(600 * time.Millisecond)
	dev.Publish("$aws/things/prompt/jobs/get", `{}`)
}

// TestKeepAliveIsClampedToAWSBounds: AWS IoT counts a keep-alive under 30 s
// as 30 s, so a client that asked for 1 s and then says nothing for longer
// than 1.5 s is still connected.
func TestKeepAliveIsClampedToAWSBounds(t *testing.T) {
	emu := testutil.StartEmulator(t)
	c := dialRaw(t, emu.MQTTAddr(), "sleepy", 1)
	if closedWithin(c, 2500*time.Millisecond) {
		t.Fatal("the broker closed the connection after 1.5 keep-alives of 1 s: the keep-alive was not clamped to 30 s")
	}
	if _, err := c.Write([]byte{0xc0, 0}); err != nil { // PINGREQ
		t.Fatal(err)
	}
	resp := make([]byte, 2)
	_ = c.SetReadDeadline(time.Now().Add(testutil.DeviceWait))
	if _, err := io.ReadFull(c, resp); err != nil || resp[0] != 0xd0 {
		t.Fatalf("PINGRESP: % x, %v", resp, err)
	}
}

// TestMaxConnections: one connection over the bound is closed at once; a
// freed place is taken again.
func TestMaxConnections(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.MaxConnections = 2 }))
	first := dialRaw(t, emu.MQTTAddr(), "one", 60)
	dialRaw(t, emu.MQTTAddr(), "two", 60)
	if _, err := testutil.DialDevice(t, emu.Endpoint, "three"); err == nil {
		t.Fatal("a third connection was accepted with --max-connections 2")
	}
	first.Close()
	deadline := time.Now().Add(testutil.DeviceWait)
	for {
		if _, err := testutil.DialDevice(t, emu.Endpoint, "three"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the place of a closed connection was not freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFiftySubscriptionsPerConnection: AWS IoT allows 50 subscriptions per
// connection; the 51st filter is refused in the SUBACK, a re-subscription
// is not a new one.
func TestFiftySubscriptionsPerConnection(t *testing.T) {
	emu := testutil.StartEmulator(t)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "subscriber")
	for i := range 50 {
		dev.Subscribe(fmt.Sprintf("subs/%d", i))
	}
	dev.Subscribe("subs/7")
	token := dev.Client.Subscribe("subs/50", 1, nil)
	if !token.WaitTimeout(testutil.DeviceWait) {
		t.Fatal("no SUBACK")
	}
	if code := token.(*paho.SubscribeToken).Result()["subs/50"]; code != 0x80 {
		t.Errorf("the 51st subscription got SUBACK code %#x, want 0x80", code)
	}
}

// TestFiftySubscriptionsStillReceive: a client that holds the 50 with a
// wildcard among them still receives what the wildcard matches (the cap
// counts subscriptions, and a delivery is not one).
func TestFiftySubscriptionsStillReceive(t *testing.T) {
	emu := testutil.StartEmulator(t)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Subscribe("$aws/things/thing-1/jobs/+")
	for i := range 49 {
		dev.Subscribe(fmt.Sprintf("subs/%d", i))
	}
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	if m := dev.Next(); m.Topic != "$aws/things/thing-1/jobs/notify" && m.Topic != "$aws/things/thing-1/jobs/notify-next" {
		t.Fatalf("got %s", m.Topic)
	}
}

// TestLenientHasNoSubscriptionCap: --lenient lifts the 50.
func TestLenientHasNoSubscriptionCap(t *testing.T) {
	emu, _ := startRulesEmulator(t, true)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "subscriber")
	for i := range 51 {
		dev.Subscribe(fmt.Sprintf("subs/%d", i))
	}
	token := dev.Client.Subscribe("subs/51", 1, nil)
	if !token.WaitTimeout(testutil.DeviceWait) {
		t.Fatal("no SUBACK")
	}
	if code := token.(*paho.SubscribeToken).Result()["subs/51"]; code != 1 {
		t.Errorf("the 52nd subscription got SUBACK code %#x, want 1", code)
	}
}
