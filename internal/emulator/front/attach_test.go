package front_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// In attach mode a plain Mosquitto routes everything, replies included, so
// the device subscribes to its replies as the iotjobs CLI does.

func TestAttachedToMosquittoServesTheDeviceExchange(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMosquitto())
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Subscribe("$aws/things/thing-1/jobs/get/+")

	dev.Publish("$aws/things/thing-1/jobs/get", `{"clientToken":"tok-a"}`)

	reply := dev.Next()
	if reply.Topic != "$aws/things/thing-1/jobs/get/accepted" || reply.Field(t, "clientToken") != "tok-a" {
		t.Fatalf("reply on %s: %s", reply.Topic, reply.Payload)
	}
	dev.Quiet(settle)
}

func TestAttachedInvalidTopicIsAnsweredOnceWithoutLooping(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMosquitto())
	spy := testutil.ConnectDevice(t, emu.Endpoint, "spy")
	spy.Subscribe("$aws/things/+/jobs/#")
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Subscribe("$aws/things/thing-1/jobs/bogus/rejected")

	dev.Publish("$aws/things/thing-1/jobs/bogus", `{"clientToken":"tok-b"}`)

	if reply := dev.Next(); reply.Field(t, "code") != "InvalidTopic" {
		t.Fatalf("reply on %s: %s", reply.Topic, reply.Payload)
	}
	// The service's reply matches its own request filters and comes back
	// to it; answering it would publish .../rejected/rejected. The broker
	// may hand the spy the request and the reply in either order.
	seen := map[string]bool{spy.Next().Topic: true, spy.Next().Topic: true}
	if !seen["$aws/things/thing-1/jobs/bogus"] || !seen["$aws/things/thing-1/jobs/bogus/rejected"] {
		t.Fatalf("spy saw %v, want the request and its rejection", seen)
	}
	spy.Quiet(settle)
	dev.Quiet(settle)
}

func TestAttachedNotificationsReachSubscribers(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMosquitto())
	dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
	dev.Subscribe("$aws/things/thing-1/jobs/notify", "$aws/things/thing-1/jobs/notify-next")

	createJob(t, emu, "job-1", "thing-1")

	got := map[string]bool{}
	for range 2 {
		got[dev.Next().Topic] = true
	}
	if !got["$aws/things/thing-1/jobs/notify"] || !got["$aws/things/thing-1/jobs/notify-next"] {
		t.Fatalf("notifications: %v", got)
	}
}

func TestAttachedServiceReconnectsAndResubscribes(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMosquitto())

	emu.Mosquitto.Restart()

	// The service's reconnect is not observable from outside but by its
	// answers: keep asking until it is back, within a bound.
	deadline := time.Now().Add(20 * time.Second)
	for attempt := 1; ; attempt++ {
		dev := testutil.ConnectDevice(t, emu.Endpoint, "thing-1")
		dev.Subscribe("$aws/things/thing-1/jobs/get/+")
		dev.Publish("$aws/things/thing-1/jobs/get", `{"clientToken":"tok-c"}`)
		select {
		case reply := <-dev.Msgs:
			if reply.Topic != "$aws/things/thing-1/jobs/get/accepted" {
				t.Fatalf("reply on %s: %s", reply.Topic, reply.Payload)
			}
			t.Logf("answered after the restart on attempt %d", attempt)
			return
		case <-time.After(500 * time.Millisecond):
		}
		dev.Client.Disconnect(0)
		if time.Now().After(deadline) {
			t.Fatal("the service did not come back after the broker restarted")
		}
	}
}

func TestAttachedCloseStopsEveryGoroutine(t *testing.T) {
	mosquitto := testutil.StartMosquitto(t)
	before := runtime.NumGoroutine()
	emu, err := emulator.Start(t.Context(), emulator.Config{BrokerURL: mosquitto.URL, DataPath: emulator.MemoryDataPath})
	if err != nil {
		t.Fatal(err)
	}
	dev := testutil.ConnectDevice(t, mosquitto.URL, "thing-1")
	dev.Subscribe("$aws/things/thing-1/jobs/get/+")
	dev.Publish("$aws/things/thing-1/jobs/get", `{}`)
	dev.Next()
	dev.Client.Disconnect(0)
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, before)
}

func TestAttachFailsFastWithoutABroker(t *testing.T) {
	mosquitto := testutil.StartMosquitto(t)
	mosquitto.Stop()
	_, err := emulator.Start(t.Context(), emulator.Config{BrokerURL: mosquitto.URL, DataPath: emulator.MemoryDataPath})
	if err == nil {
		t.Fatal("started without a broker")
	}
	t.Logf("refused: %v", err)
}

// TestAttachedIgnoresRetainedRequests: a request published with RETAIN is
// delivered to every new subscriber; the service must not apply it again
// each time it (re)starts.
func TestAttachedIgnoresRetainedRequests(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMosquitto(), testutil.WithTempDataPath(t))
	testutil.CreateJob(t, emu, "job-r", "thing-r", `{}`)
	dev := testutil.ConnectDevice(t, emu.Endpoint, "publisher")
	token := dev.Client.Publish("$aws/things/thing-r/jobs/job-r/update", 1, true, `{"status":"IN_PROGRESS"}`)
	if !token.WaitTimeout(testutil.DeviceWait) || token.Error() != nil {
		t.Fatalf("publish: %v", token.Error())
	}
	// The live publication is served once; a restart must not serve it again.
	version := func() int64 {
		t.Helper()
		x, err := emu.Engine().DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "job-r", ThingName: "thing-r"})
		if err != nil {
			t.Fatal(err)
		}
		return x.VersionNumber
	}
	deadline := time.Now().Add(testutil.DeviceWait)
	for version() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for range 2 {
		emu.Restart(t)
		// A get-pending answered after the restart was served after the
		// retained request would have been.
		probe := testutil.ConnectDevice(t, emu.Endpoint, "prober")
		probe.Subscribe("$aws/things/thing-r/jobs/get/accepted")
		probe.Publish("$aws/things/thing-r/jobs/get", `{}`)
		probe.NextOn("$aws/things/thing-r/jobs/get/accepted")
		probe.Client.Disconnect(0)
		if v := version(); v != 2 {
			t.Fatalf("after a restart the version is %d: the retained update was applied again", v)
		}
	}
}
