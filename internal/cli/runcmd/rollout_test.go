package runcmd_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestRolloutRehearsal rehearses a whole rollout against the emulator, as
// the product promises: a job over a thing group of 500 simulated devices
// (one `iotjobs run` process, a connection each), created by `iotjobs
// emulator create-job` with a rate of 50 things per emulated minute (400
// ms here, so ten minutes would notify them all), one retry of a failure
// and an abort at 10% failed things once 150 are notified, watched live by
// `describe-job --watch`. Two attempts in three fail, so four things in
// nine fail twice: the abort cancels the job in its fourth minute or soon
// after, well before the rollout reaches every thing, even on a loaded
// machine.
func TestRolloutRehearsal(t *testing.T) {
	minute := 400 * time.Millisecond
	emu := testutil.StartEmulator(t, testutil.WithMinute(minute))
	e := emu.Engine()
	if _, err := e.CreateThingGroup(iotapi.CreateThingGroupInput{ThingGroupName: "fleet"}); err != nil {
		t.Fatal(err)
	}
	var things []string
	for i := range 500 {
		name := fmt.Sprintf("dev-%03d", i)
		things = append(things, name)
		if _, err := e.CreateThing(iotapi.CreateThingInput{ThingName: name}); err != nil {
			t.Fatal(err)
		}
		if err := e.AddThingToThingGroup("fleet", name); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "fleet.txt")
	testutil.WriteFile(t, file, strings.Join(things, "\n")+"\n")

	// The devices first, so that none misses its notification.
	runner := testutil.StartBinary(t, iotjobs.Path, nil, "run", "--things", file, "-e", emu.Endpoint,
		"--simulate", "ok=1,fail=2,duration=5ms..20ms")
	time.Sleep(500 * time.Millisecond)
	r := iotjobs.Run(t, nil, "emulator", "create-job", "rollout", "--group", "fleet", "--document", `{"op":"fw"}`,
		"--max-per-minute", "50", "--retry", "FAILED:1", "--abort", "FAILED:10:150", "--emulator", emu.HTTPURL)
	testutil.WantExit(t, r, 0)
	watch := testutil.StartBinary(t, iotjobs.Path, nil, "emulator", "describe-job", "rollout", "--watch", "--interval", "100ms",
		"-o", "json", "--emulator", emu.HTTPURL)
	w := watch.Wait(t) // it ends when the job does
	testutil.WantExit(t, w, 0)
	runner.Signal(t, syscall.SIGTERM)
	runner.Wait(t)

	job, err := e.DescribeJob("rollout")
	if err != nil {
		t.Fatal(err)
	}
	state, _ := e.RolloutState("rollout")
	if job.Status != iotapi.JobCanceled || job.ReasonCode != "ABORTED_BY_ABORT_CONFIG" || state.Aborted == nil ||
		state.Notified < 150 || state.Notified >= 500 || state.Retried == 0 {
		t.Fatalf("after the rollout: %+v\n%+v", job, state)
	}
	// The pace: executions are created in batches of at most 50, at least
	// an emulated minute apart; retries (number 2) come whenever a first
	// attempt fails.
	batches := map[time.Time]int{}
	for token := ""; ; {
		page, err := e.ListJobExecutionsForJob(iotapi.ListExecutionsInput{JobID: "rollout", NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.ExecutionSummaries {
			if x.JobExecutionSummary.ExecutionNumber == 1 {
				batches[x.JobExecutionSummary.QueuedAt.Time]++
			}
		}
		if token = page.NextToken; token == "" {
			break
		}
	}
	if len(batches) < 3 {
		t.Errorf("%d batches, want 3 or more: %v", len(batches), batches)
	}
	var last time.Time
	for _, at := range slices.SortedFunc(maps.Keys(batches), time.Time.Compare) {
		if batches[at] > 50 {
			t.Errorf("%d executions created at %s, over the rate of 50 a minute", batches[at], at)
		}
		if !last.IsZero() && at.Sub(last) < minute-10*time.Millisecond {
			t.Errorf("batches %s apart, less than an emulated minute", at.Sub(last))
		}
		last = at
	}
	// The live view saw the rollout grow and the abort.
	lines := strings.Split(strings.TrimSpace(w.Stdout), "\n")
	var first, final struct {
		Job     iotapi.Job
		Rollout iotapi.RolloutState
	}
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[len(lines)-1]), &final) != nil {
		t.Fatalf("not JSON lines:\n%s", w.Stdout)
	}
	if len(lines) < 3 || first.Rollout.Notified > 100 || final.Job.Status != iotapi.JobCanceled || final.Rollout.Aborted == nil {
		t.Errorf("the watch saw %d lines, first %+v, last %+v", len(lines), first.Rollout, final)
	}
	t.Logf("%d things notified in %d batches, %d retried; watch printed %d lines", state.Notified, len(batches), state.Retried, len(lines))
}
