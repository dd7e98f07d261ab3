package devicecmd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestWaitMissing: a thing that joins a continuous job's group later has
// no execution yet. By default that is exit 14, with a hint that names
// --missing; with --missing wait, wait waits for the execution to appear
// and then for its end.
func TestWaitMissing(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			e := emu.Engine()
			if _, err := e.CreateThing(iotapi.CreateThingInput{ThingName: "thing-1"}); err != nil {
				t.Fatal(err)
			}
			testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "group", "create", "fleet", "--emulator", emu.HTTPURL), 0)
			testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "create-job", "fw", "--group", "fleet", "--continuous",
				"--document", `{"op":"fw"}`, "--emulator", emu.HTTPURL), 0)
			conn := []string{"-t", "thing-1", "-e", emu.Endpoint}

			r := iotjobs.Run(t, nil, append(conn, "wait", "fw", "--until", "terminal")...)
			testutil.WantExit(t, r, 14)
			if !strings.Contains(r.Stderr, "\n  if the job's rollout has not reached the thing yet, wait for its execution too: iotjobs wait fw --until terminal --missing wait -t thing-1 -e "+emu.Endpoint+"\n") {
				t.Errorf("no hint of --missing:\n%s", r)
			}

			p := testutil.StartBinary(t, iotjobs.Path, nil, append(conn, "wait", "fw", "--until", "SUCCEEDED", "--missing", "wait",
				"--client-id", "thing-1-wait", "--timeout", "30s", "-v")...)
			p.WaitStderr(t, "< $aws/things/thing-1/jobs/fw/get/rejected", lineWait)
			if err := e.AddThingToThingGroup("fleet", "thing-1"); err != nil {
				t.Fatal(err)
			}
			p.WaitStderr(t, "< $aws/things/thing-1/jobs/notify ", lineWait)
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "start-next")...), 0)
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "fw", "--status", "SUCCEEDED")...), 0)
			r = p.Wait(t)
			testutil.WantExit(t, r, 0)
			if m := testutil.Reply(t, r); testutil.Path(m, "execution", "jobId") != "fw" || testutil.Path(m, "execution", "status") != "SUCCEEDED" {
				t.Errorf("wait printed %v\n%s", m, r)
			}
		})
	}
}

// TestWaitMissingTimesOut: a thing that never gets an execution times out
// (exit 4), saying it had none, for one thing and in a fan-out.
func TestWaitMissingTimesOut(t *testing.T) {
	emu := testutil.StartEmulator(t)
	r := iotjobs.Run(t, nil, "wait", "fw", "-t", "thing-9", "-e", emu.Endpoint, "--until", "terminal", "--missing", "wait", "--timeout", "500ms")
	testutil.WantExit(t, r, 4)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "job fw did not reach SUCCEEDED or FAILED or TIMED_OUT or REJECTED or REMOVED or CANCELED within 500ms; the thing had no execution of it yet") {
		t.Errorf("timeout with no execution:\n%s", r)
	}
	r = iotjobs.Run(t, nil, "wait", "fw", "-t", "thing-8,thing-9", "-e", emu.Endpoint, "--until", "SUCCEEDED", "--missing", "wait", "--timeout", "500ms")
	testutil.WantExit(t, r, 1)
	lines := fanLines(t, r)
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), r)
	}
	for _, l := range lines {
		if l.Outcome != "timeout" || l.ExitCode != 4 || !strings.Contains(l.Error, "the thing had no execution of it yet") || !strings.Contains(string(l.Reply), "ResourceNotFound") {
			t.Errorf("%s: %+v", l.Thing, l)
		}
	}
	// The summary's slowest things are those that waited longest.
	r = iotjobs.Run(t, nil, "wait", "fw", "-t", "thing-8,thing-9", "-e", emu.Endpoint, "--until", "SUCCEEDED", "--missing", "wait", "--timeout", "500ms", "--summary")
	testutil.WantExit(t, r, 1)
	rows := map[string]bool{}
	for _, line := range strings.Split(r.Stdout, "\n") {
		rows[strings.Join(strings.Fields(line), " ")] = true
	}
	for _, want := range []string{"THINGS 2", "TIMEOUT 2", "SLOWEST TIME OUTCOME"} {
		if !rows[want] {
			t.Errorf("summary lacks the row %q:\n%s", want, r.Stdout)
		}
	}
}

// TestWaitFanOutThroughAPacedRollout: a rollout of one thing a minute
// reaches the second thing a minute after the first; a wait over both with
// --missing wait sees each execution appear and end.
func TestWaitFanOutThroughAPacedRollout(t *testing.T) {
	minute := time.Second
	emu := testutil.StartEmulator(t, testutil.WithMinute(minute))
	things := []string{"thing-1", "thing-2", "thing-3"}
	var targets []string
	for _, thing := range things {
		targets = append(targets, "--target", thing)
	}
	testutil.WantExit(t, iotjobs.Run(t, nil, append([]string{"emulator", "create-job", "fw", "--document", "{}", "--max-per-minute", "1",
		"--emulator", emu.HTTPURL}, targets...)...), 0)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "wait", "fw", "-t", strings.Join(things, ","), "-e", emu.Endpoint,
		"--until", "SUCCEEDED", "--missing", "wait", "--timeout", "30s")
	// Each thing, as a device would: wait for its execution, then finish it.
	for _, thing := range things {
		conn := []string{"-t", thing, "-e", emu.Endpoint}
		r := iotjobs.Run(t, nil, append(conn, "wait", "fw", "--until", "QUEUED", "--missing", "wait", "--client-id", thing+"-dev", "--timeout", "20s")...)
		testutil.WantExit(t, r, 0)
		testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "fw", "--status", "SUCCEEDED")...), 0)
	}
	r := p.Wait(t)
	testutil.WantExit(t, r, 0)
	lines := fanLines(t, r)
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), r)
	}
	for _, l := range lines {
		if l.Outcome != "accepted" || !strings.Contains(string(l.Reply), `"SUCCEEDED"`) {
			t.Errorf("%s: %+v", l.Thing, l)
		}
	}
}
