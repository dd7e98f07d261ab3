package front_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestOneConnectionPerClientIDUnderSimultaneousConnects: ten clients with
// one client id connect at once, forty times over. Each round leaves
// exactly one of them connected, and that one gets what is published to
// its subscription (a connection left over beside it would get replies and
// no notifications).
func TestOneConnectionPerClientIDUnderSimultaneousConnects(t *testing.T) {
	emu := testutil.StartEmulator(t)
	publisher := testutil.ConnectDevice(t, emu.Endpoint, "publisher")
	for round := range 40 {
		id := fmt.Sprintf("same-id-%d", round)
		devices := make([]*testutil.Device, 10)
		var wg sync.WaitGroup
		for i := range devices {
			wg.Go(func() {
				// A refused or taken-over attempt is fine; a leftover is not.
				devices[i], _ = testutil.DialDevice(t, emu.Endpoint, id, func(o *paho.ClientOptions) {
					o.SetAutoReconnect(false)
				})
			})
		}
		wg.Wait()
		var open []*testutil.Device
		deadline := time.Now().Add(testutil.DeviceWait)
		for {
			open = open[:0]
			for _, d := range devices {
				if d != nil && d.Client.IsConnectionOpen() {
					open = append(open, d)
				}
			}
			if len(open) <= 1 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(open) != 1 {
			t.Fatalf("round %d: %d connections with client id %s are open, want 1", round, len(open), id)
		}
		topic := "rounds/" + id
		open[0].Subscribe(topic)
		publisher.Publish(topic, "hello")
		if m := open[0].NextOn(topic); string(m.Payload) != "hello" {
			t.Fatalf("round %d: the survivor got %q", round, m.Payload)
		}
		for _, d := range devices {
			if d != nil {
				d.Client.Disconnect(0)
			}
		}
	}
}
