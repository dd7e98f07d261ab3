package emulatorcmd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestKillNineLosesNoAcknowledgedUpdate: devices hammer the emulator with
// conditional updates while it is killed with SIGKILL, three times over.
// Every update the emulator acknowledged is in the store afterwards: its
// reply went out only after the commit reached the disk.
func TestKillNineLosesNoAcknowledgedUpdate(t *testing.T) {
	data := filepath.Join(t.TempDir(), "jobs.db")
	mqttAddr, httpAddr := testutil.FreeAddr(t), testutil.FreeAddr(t)
	start := func() *testutil.Process {
		t.Helper()
		p := testutil.StartBinary(t, iotjobs.Path, nil, "emulator", "--data", data, "--mqtt", mqttAddr, "--http", httpAddr)
		p.WaitStderr(t, "emulator ready", 10*time.Second)
		return p
	}
	const devices = 6
	emu := start()
	for i := range devices {
		r := iotjobs.Run(t, nil, "emulator", "create-job", fmt.Sprintf("job-%d", i), "--target", fmt.Sprintf("dev-%d", i),
			"--document", "{}", "--emulator", "http://"+httpAddr)
		testutil.WantExit(t, r, 0)
	}
	ep, err := mqttclient.ParseEndpoint("mqtt://" + mqttAddr)
	if err != nil {
		t.Fatal(err)
	}
	acked := make([]int64, devices) // the highest version each device saw acknowledged
	var mu sync.Mutex
	total := 0
	for round := range 3 {
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for i := range devices {
			wg.Go(func() {
				conn, err := mqttclient.Dial(ctx, mqttclient.Config{Endpoint: ep, ClientID: fmt.Sprintf("dev-%d-r%d", i, round)})
				if err != nil {
					return
				}
				defer conn.Close()
				mu.Lock()
				version := acked[i]
				mu.Unlock()
				if version == 0 {
					version = 1
				}
				for ctx.Err() == nil {
					topic := jobs.UpdateTopic(fmt.Sprintf("dev-%d", i), fmt.Sprintf("job-%d", i))
					token := fmt.Sprintf("r%d-%d", round, version)
					payload := fmt.Sprintf(`{"status":"IN_PROGRESS","expectedVersion":%d,"statusDetails":{"v":"%d"},"clientToken":%q}`, version, version+1, token)
					reply, err := conn.Request(ctx, topic, []byte(payload), token)
					if err != nil {
						return // the emulator is gone
					}
					if !reply.Accepted {
						t.Errorf("device %d: update at version %d refused: %s", i, version, reply.Payload)
						return
					}
					version++
					mu.Lock()
					acked[i] = version
					total++
					mu.Unlock()
				}
			})
		}
		time.Sleep(300 * time.Millisecond)
		emu.Signal(t, syscall.SIGKILL)
		emu.Wait(t)
		stop()
		wg.Wait()
		emu = start()
		// What the store kept: at least every acknowledged version.
		for i := range devices {
			r := iotjobs.Run(t, nil, "emulator", "describe-execution", fmt.Sprintf("job-%d", i), "--thing", fmt.Sprintf("dev-%d", i),
				"--emulator", "http://"+httpAddr)
			testutil.WantExit(t, r, 0)
			var out struct {
				Execution struct {
					VersionNumber int64 `json:"versionNumber"`
				} `json:"execution"`
			}
			if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			want := acked[i]
			if out.Execution.VersionNumber < want {
				t.Errorf("round %d, device %d: the store has version %d, %d was acknowledged", round, i, out.Execution.VersionNumber, want)
			}
			// An update committed but not acknowledged before the kill counts.
			acked[i] = out.Execution.VersionNumber
			mu.Unlock()
		}
	}
	emu.Signal(t, syscall.SIGTERM)
	emu.Wait(t)
	if report, err := store.Check(data); err != nil || len(report.Problems) != 0 {
		t.Errorf("the store after three kills: %+v, %v", report, err)
	}
	if total < devices {
		t.Errorf("only %d updates were acknowledged: the harness did not run", total)
	}
	t.Logf("%d updates acknowledged across three SIGKILLs, none lost", total)
}
