package front_test

import (
	"encoding/json"
	"runtime"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// The tests speak to the emulator as a device would, with paho over real
// TCP, and as a spy that watches everything under $aws/things/+/jobs/#.

const waitFor = 5 * time.Second

func createJob(t *testing.T, emu *testutil.Emulator, jobID string, things ...string) {
	t.Helper()
	_, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: jobID, Targets: things, Document: `{"operation":"reboot"}`})
	if err != nil {
		t.Fatalf("create job %s: %v", jobID, err)
	}
}

func decode(t *testing.T, m testutil.Received, v any) {
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
