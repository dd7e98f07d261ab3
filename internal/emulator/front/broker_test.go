package front_test

import (
	"errors"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// settle is how long a test waits to be sure a message does NOT arrive.
const settle = 300 * time.Millisecond

func TestReplyReachesClientThatNeverSubscribed(t *testing.T) {
	emu := testutil.StartEmulator(t)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")

	dev.Publish("$aws/things/thing-1/jobs/get", `{"clientToken":"tok-1"}`)

	reply := dev.Next()
	if reply.Topic != "$aws/things/thing-1/jobs/get/accepted" {
		t.Fatalf("reply on %s, want .../get/accepted: %s", reply.Topic, reply.Payload)
	}
	if got := reply.Field(t, "clientToken"); got != "tok-1" {
		t.Errorf("clientToken %q, want tok-1", got)
	}
}

func TestReplyDeliveredOnceToSubscriberAndNotToSpy(t *testing.T) {
	emu := testutil.StartEmulator(t)
	spy := testutil.ConnectDevice(t, emu.Endpoint, "spy")
	spy.Subscribe("$aws/things/+/jobs/#")
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	// Overlapping subscriptions: a broker-routed reply would arrive twice.
	dev.Subscribe("$aws/things/thing-1/jobs/get/+", "$aws/things/thing-1/jobs/#")

	dev.Publish("$aws/things/thing-1/jobs/get", `{"clientToken":"tok-2"}`)

	// The device's own request comes back through its # subscription, as
	// on any broker; the reply comes once, straight from the service.
	var replies int
	deadline := time.After(waitFor)
	for replies == 0 {
		select {
		case m := <-dev.Msgs:
			if m.Topic == "$aws/things/thing-1/jobs/get/accepted" {
				replies++
			}
		case <-deadline:
			t.Fatal("no reply")
		}
	}
	for {
		select {
		case m := <-dev.Msgs:
			if m.Topic != "$aws/things/thing-1/jobs/get" {
				t.Fatalf("second message on %s: %s", m.Topic, m.Payload)
			}
			continue
		case <-time.After(settle):
		}
		break
	}

	if req := spy.Next(); req.Topic != "$aws/things/thing-1/jobs/get" {
		t.Fatalf("spy saw %s, want the request", req.Topic)
	}
	spy.Quiet(settle)
}

func TestInvalidTopicRejectedOnTopicPlusRejected(t *testing.T) {
	emu := testutil.StartEmulator(t)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")

	dev.Publish("$aws/things/thing-1/jobs/bogus", `{"clientToken":"tok-3"}`)

	reply := dev.Next()
	if reply.Topic != "$aws/things/thing-1/jobs/bogus/rejected" {
		t.Fatalf("reply on %s: %s", reply.Topic, reply.Payload)
	}
	if code := reply.Field(t, "code"); code != "InvalidTopic" {
		t.Errorf("code %q, want InvalidTopic", code)
	}
	if got := reply.Field(t, "clientToken"); got != "tok-3" {
		t.Errorf("clientToken %q, want tok-3", got)
	}
}

func TestPublicationsOutsideJobsAreRoutedAndNotAnswered(t *testing.T) {
	emu := testutil.StartEmulator(t)
	sub := testutil.ConnectDevice(t, emu.Endpoint, "listener")
	sub.Subscribe("plain/topic", "$aws/things/thing-1/shadow/get")
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")

	dev.Publish("plain/topic", "hello")
	dev.Publish("$aws/things/thing-1/shadow/get", "{}")

	// Both arrive, in either order: MQTT orders messages per topic only.
	got := map[string]bool{}
	for range 2 {
		got[sub.Next().Topic] = true
	}
	for _, want := range []string{"plain/topic", "$aws/things/thing-1/shadow/get"} {
		if !got[want] {
			t.Errorf("subscriber did not get %s; got %v", want, got)
		}
	}
	dev.Quiet(settle)
}

func TestNotificationsReachSubscribers(t *testing.T) {
	emu := testutil.StartEmulator(t)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Subscribe("$aws/things/thing-1/jobs/notify", "$aws/things/thing-1/jobs/notify-next")
	other := testutil.ConnectDevice(t, emu.Endpoint, "thing-2")
	other.Subscribe("$aws/things/thing-2/jobs/#")

	createJob(t, emu, "job-1", "thing-1")

	got := map[string]bool{}
	for range 2 {
		got[dev.Next().Topic] = true
	}
	for _, topic := range []string{"$aws/things/thing-1/jobs/notify", "$aws/things/thing-1/jobs/notify-next"} {
		if !got[topic] {
			t.Errorf("no notification on %s; got %v", topic, got)
		}
	}
	other.Quiet(settle)
}

func TestSecondConnectionWithSameClientIDDisconnectsTheFirst(t *testing.T) {
	emu := testutil.StartEmulator(t)
	first := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	second := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")

	select {
	case <-first.Lost:
	case <-time.After(waitFor):
		t.Fatal("the first connection is still up")
	}
	second.Publish("$aws/things/thing-1/jobs/get", `{"clientToken":"tok-4"}`)
	if reply := second.Next(); reply.Topic != "$aws/things/thing-1/jobs/get/accepted" {
		t.Fatalf("reply on %s", reply.Topic)
	}
}

func TestStateSurvivesRestartWithTheSameDataFile(t *testing.T) {
	dataFile := t.TempDir() + "/emulator.db"
	emu := testutil.StartEmulator(t, testutil.WithDataPath(dataFile))
	createJob(t, emu, "job-1", "thing-1")
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Publish("$aws/things/thing-1/jobs/start-next", `{"clientToken":"tok-5"}`)
	if reply := dev.NextOn("$aws/things/thing-1/jobs/start-next/accepted"); reply.Field(t, "clientToken") != "tok-5" {
		t.Fatalf("start-next: %s", reply.Payload)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}

	emu = testutil.StartEmulator(t, testutil.WithDataPath(dataFile))
	dev = testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Publish("$aws/things/thing-1/jobs/job-1/get", `{"clientToken":"tok-6"}`)
	reply := dev.NextOn("$aws/things/thing-1/jobs/job-1/get/accepted")
	var body struct {
		Execution struct {
			JobID  string
			Status string
		}
	}
	decode(t, reply, &body)
	if body.Execution.JobID != "job-1" || body.Execution.Status != "IN_PROGRESS" {
		t.Fatalf("after the restart: %s", reply.Payload)
	}
}

func TestCloseStopsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	pki := testutil.NewPKI(t)
	emu, err := emulator.Start(t.Context(), emulator.Config{
		MQTTAddr:  "127.0.0.1:0",
		MQTTSAddr: "127.0.0.1:0",
		TLSCert:   pki.ServerCertFile,
		TLSKey:    pki.ServerKeyFile,
		HTTPAddr:  "127.0.0.1:0",
		DataPath:  emulator.MemoryDataPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	dev := testutil.ConnectDevice(t, "mqtt://"+emu.MQTTAddr(), "thing-1")
	dev.Publish("$aws/things/thing-1/jobs/get", `{}`)
	dev.Next()
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dev.Lost:
	case <-time.After(waitFor):
		t.Fatal("Close left the device connected")
	}
	dev.Client.Disconnect(0)
	waitGoroutines(t, before)
}

// Close while clients keep connecting: every connection ends and Close
// returns (mochi's own listeners race here; see internal/mochilistener).
func TestCloseWhileClientsConnect(t *testing.T) {
	emu, err := emulator.Start(t.Context(), emulator.Config{MQTTAddr: "127.0.0.1:0", DataPath: emulator.MemoryDataPath})
	if err != nil {
		t.Fatal(err)
	}
	// CONNECT, MQTT 3.1.1, clean session, keep-alive 60 s, empty client id.
	connect := []byte{0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00}
	dialing := make(chan struct{})
	go func() {
		defer close(dialing)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		// Paced and bounded, so the test measures Close, not a flood.
		for range 300 {
			if conn, err := net.Dial("tcp", emu.MQTTAddr()); err == nil {
				conn.Write(connect)
				conns = append(conns, conn)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	time.Sleep(50 * time.Millisecond)
	closed := make(chan error, 1)
	go func() { closed <- emu.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * waitFor):
		buf := make([]byte, 1<<22)
		t.Fatalf("Close did not return:\n%s", buf[:runtime.Stack(buf, true)])
	}
	<-dialing
}

func TestBusyAddressIsNamedAndNothingIsLeftOpen(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mqttAddr := free.Addr().String()
	free.Close()

	_, err = emulator.Start(t.Context(), emulator.Config{
		MQTTAddr: mqttAddr,
		HTTPAddr: busy.Addr().String(),
		DataPath: emulator.MemoryDataPath,
	})
	var ce *emulator.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "HTTPAddr "+busy.Addr().String()+": the address is in use") {
		t.Fatalf("got %v", err)
	}
	// A command names its flags instead of the fields.
	if got := ce.Render(strings.ToLower); !strings.HasPrefix(got, "httpaddr ") || !strings.HasSuffix(got, "with httpaddr HOST:PORT") {
		t.Errorf("rendered %q", got)
	}
	again, err := net.Listen("tcp", mqttAddr)
	if err != nil {
		t.Fatalf("the MQTT address bound before the failure is still taken: %v", err)
	}
	again.Close()
}
