package devicecmd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/mqttclient/mqtttest"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// startWait runs `iotjobs wait` as thing-1 with -v and returns once the
// first describe has been answered, so that a change made next happens
// while it waits. Like startWatch it has a client id of its own.
func startWait(t *testing.T, emu *testutil.Emulator, jobID string, args ...string) *testutil.Process {
	t.Helper()
	p := testutil.StartBinary(t, iotjobs.Path, nil, append([]string{"wait", jobID, "-t", "thing-1", "--client-id", "thing-1-wait", "-e", emu.Endpoint, "-v"}, args...)...)
	p.WaitStderr(t, "< $aws/things/thing-1/jobs/"+jobID+"/get/accepted", lineWait)
	return p
}

func TestWaitForSucceeded(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
			testutil.CreateJob(t, emu, "job-2", "thing-1", `{}`)
			conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
			p := startWait(t, emu, "job-1", "--until", "SUCCEEDED", "--timeout", "30s")

			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "start-next")...), 0)
			// Another job's change is not the awaited one.
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "job-2", "--status", "REJECTED")...), 0)
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "job-1", "--status", "SUCCEEDED", "--status-detail", "result=ok")...), 0)
			r := p.Wait(t)
			testutil.WantExit(t, r, 0)
			m := testutil.Reply(t, r)
			if testutil.Path(m, "execution", "jobId") != "job-1" || testutil.Path(m, "execution", "status") != "SUCCEEDED" ||
				testutil.Path(m, "execution", "statusDetails", "result") != "ok" || testutil.Path(m, "execution", "versionNumber") != 3.0 {
				t.Errorf("printed %v", m)
			}
			// The probe that told SUCCEEDED changed nothing.
			x, err := emu.Engine().DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "job-1", ThingName: "thing-1"})
			if err != nil || x.Status != "SUCCEEDED" || x.VersionNumber != 3 {
				t.Errorf("after the wait: %+v %v", x, err)
			}
		})
	}
}

func TestWaitAlreadyThere(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{"op":"x"}`)
	testutil.CreateJob(t, emu, "done", "thing-1", `{}`)
	conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
	testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "start-next")...), 0)
	testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "done", "--status", "FAILED")...), 0)

	r := iotjobs.Run(t, nil, append(conn, "wait", "job-1", "--until", "queued,in_progress")...)
	testutil.WantExit(t, r, 0)
	if m := testutil.Reply(t, r); testutil.Path(m, "execution", "status") != "IN_PROGRESS" || testutil.Path(m, "execution", "jobDocument", "op") != "x" {
		t.Errorf("wait for IN_PROGRESS printed %v", m)
	}
	r = iotjobs.Run(t, nil, append(conn, "wait", "done", "--until", "terminal")...)
	testutil.WantExit(t, r, 0)
	if m := testutil.Reply(t, r); testutil.Path(m, "execution", "jobId") != "done" || testutil.Path(m, "execution", "status") != "FAILED" {
		t.Errorf("wait for terminal printed %v", m)
	}
	r = iotjobs.Run(t, nil, append(conn, "wait", "done", "--until", "SUCCEEDED")...)
	testutil.WantExit(t, r, 1)
	if m := testutil.Reply(t, r); testutil.Path(m, "execution", "status") != "FAILED" || !strings.Contains(r.Stderr, "job done ended FAILED, not SUCCEEDED") {
		t.Errorf("wait for SUCCEEDED of a FAILED job:\n%s", r)
	}
	r = iotjobs.Run(t, nil, append(conn, "wait", "no-such-job", "--until", "terminal")...)
	testutil.WantExit(t, r, 14)
	if m := testutil.Reply(t, r); m["code"] != "ResourceNotFound" {
		t.Errorf("wait for a job the thing does not have:\n%s", r)
	}
}

func TestWaitTimesOut(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	r := iotjobs.Run(t, nil, "wait", "job-1", "-t", "thing-1", "-e", emu.Endpoint, "--until", "SUCCEEDED", "--timeout", "500ms")
	testutil.WantExit(t, r, 4)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "job job-1 did not reach SUCCEEDED within 500ms; it was last seen QUEUED") {
		t.Errorf("timeout:\n%s", r)
	}
	// Awaiting IN_PROGRESS, which no notification announces: the hint
	// describes the execution with this command's connection flags.
	r = iotjobs.Run(t, nil, "wait", "job-1", "-t", "thing-1", "-e", emu.Endpoint, "--until", "IN_PROGRESS", "--timeout", "300ms")
	testutil.WantExit(t, r, 4)
	if !strings.Contains(r.Stderr, "check with: iotjobs describe job-1 -t thing-1 -e "+emu.Endpoint+"\n") {
		t.Errorf("timeout awaiting IN_PROGRESS:\n%s", r)
	}
}

// TestWaitEndsOnTimedOut: the step timer fires while wait awaits SUCCEEDED;
// the execution left the pending set in another terminal status: exit 1,
// and the status printed.
func TestWaitEndsOnTimedOut(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMinute(300*time.Millisecond))
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	p := startWait(t, emu, "job-1", "--until", "SUCCEEDED", "--timeout", "30s")
	testutil.WantExit(t, iotjobs.Run(t, nil, "start-next", "--step-timeout", "1", "-t", "thing-1", "-e", emu.Endpoint), 0)
	r := p.Wait(t)
	testutil.WantExit(t, r, 1)
	if m := testutil.Reply(t, r); testutil.Path(m, "execution", "status") != "TIMED_OUT" || !strings.Contains(r.Stderr, "job job-1 ended TIMED_OUT, not SUCCEEDED") {
		t.Errorf("after the step timer:\n%s", r)
	}
}

// TestWaitDescribesAfterReconnect: the update happens around a restart of
// the service; the describe after the reconnect (or the notification, if
// the wait is back first) ends the wait.
func TestWaitDescribesAfterReconnect(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithTempDataPath(t))
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	p := startWait(t, emu, "job-1", "--until", "SUCCEEDED", "--timeout", "30s")
	emu.Restart(t)
	testutil.WantExit(t, iotjobs.Run(t, nil, "update", "job-1", "--status", "SUCCEEDED", "-t", "thing-1", "-e", emu.Endpoint), 0)
	r := p.Wait(t)
	testutil.WantExit(t, r, 0)
	if m := testutil.Reply(t, r); testutil.Path(m, "execution", "status") != "SUCCEEDED" ||
		!strings.Contains(r.Stderr, "disconnected from") || !strings.Contains(r.Stderr, "reconnected to") {
		t.Errorf("across a restart:\n%s", r)
	}
}

func TestWaitBadInputSendsNothing(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	ep := "mqtt://" + b.Addr
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"wait", "job-1"}, "wait needs --until"},
		{[]string{"wait", "job-1", "--until", "DONE"}, `invalid --until status "DONE"`},
		{[]string{"wait", "job-1", "--until", "SUCCEEDED,"}, `invalid --until status ""`},
		{[]string{"wait", "job/1", "--until", "terminal"}, "invalid job id"},
		{[]string{"wait", "$next", "--until", "terminal"}, "wait needs the id of a job: the execution $next names changes as jobs finish; find the id with: iotjobs describe '$next' -t thing-1 -e " + ep + "\n"},
		{[]string{"wait", "--until", "terminal"}, "wait needs <job-id>"},
		{[]string{"wait", "job-1", "--until", "terminal", "--timeout", "0s"}, "--timeout"},
		{[]string{"wait", "job-1", "--until", "terminal", "--missing", "maybe"}, `invalid --missing "maybe": use fail or wait, e.g. --missing wait`},
	} {
		r := iotjobs.Run(t, nil, append(tt.args, "-t", "thing-1", "-e", ep)...)
		testutil.WantExit(t, r, 2)
		if r.Stdout != "" || !strings.Contains(r.Stderr, tt.want) {
			t.Errorf("%v:\n%s", tt.args, r)
		}
	}
	if n := len(b.Published()); n != 0 {
		t.Errorf("bad input published %d messages", n)
	}
}

func TestWatchAndWaitHelp(t *testing.T) {
	for cmd, example := range map[string]string{
		"watch": "$ iotjobs watch -t my-thing | jq .payload.execution.jobId",
		"wait":  "$ iotjobs wait job-1 -t my-thing --until SUCCEEDED --timeout 5m",
	} {
		r := iotjobs.Run(t, nil, cmd, "--help", "-e", "mqtt://127.0.0.1:1")
		testutil.WantExit(t, r, 0)
		if !strings.Contains(r.Stdout, example) || !strings.Contains(r.Stdout, "| jq") {
			t.Errorf("%s --help lacks %q:\n%s", cmd, example, r.Stdout)
		}
	}
}

// TestWaitResubscribesRepliesAfterReconnect: the session is clean, so after
// a reconnect the broker has forgotten the reply subscriptions too; through
// Mosquitto, which routes replies only to subscribers, the describe after
// the reconnect must subscribe again (onConnectionLost forgets them) or its
// reply never comes.
func TestWaitResubscribesRepliesAfterReconnect(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMosquitto())
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	p := startWait(t, emu, "job-1", "--until", "SUCCEEDED", "--timeout", "20s")
	// A takeover of the wait's client id drops it; it comes back once the
	// intruder has left.
	intruder := testutil.ConnectDevice(t, emu.Endpoint, "thing-1-wait")
	p.WaitStderr(t, "disconnected from", lineWait)
	intruder.Client.Disconnect(0)
	p.WaitStderr(t, "reconnected to", lineWait)
	p.WaitStderr(t, "> SUBSCRIBE to $aws/things/thing-1/jobs/job-1/get/accepted", lineWait)
	testutil.WantExit(t, iotjobs.Run(t, nil, "update", "job-1", "--status", "SUCCEEDED", "-t", "thing-1", "-e", emu.Endpoint), 0)
	r := p.Wait(t)
	testutil.WantExit(t, r, 0)
	if m := testutil.Reply(t, r); testutil.Path(m, "execution", "status") != "SUCCEEDED" {
		t.Errorf("after a reconnect through Mosquitto:\n%s", r)
	}
}
