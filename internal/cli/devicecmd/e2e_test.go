package devicecmd_test

import (
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// emulators are the two setups the device suite runs against: the
// embedded broker, and Mosquitto 2 with the emulator attached as a client.
func emulators() map[string][]testutil.Option {
	return map[string][]testutil.Option{"embedded": nil, "mosquitto": {testutil.WithMosquitto()}}
}

func TestDeviceWalkthrough(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			testutil.CreateJob(t, emu, "job-1", "thing-1", `{"operation":"reboot"}`)
			// Environment variables stand in for the flags.
			env := []string{"IOTJOBS_THING=thing-1", "IOTJOBS_ENDPOINT=" + emu.Endpoint}
			conn := []string{"-t", "thing-1", "-e", emu.Endpoint}

			r := iotjobs.Run(t, env, "get-pending")
			testutil.WantExit(t, r, 0)
			m := testutil.Reply(t, r)
			if q, _ := m["queuedJobs"].([]any); len(q) != 1 || testutil.Path(q[0].(map[string]any), "jobId") != "job-1" {
				t.Fatalf("queuedJobs = %v", m["queuedJobs"])
			}
			if ip, ok := m["inProgressJobs"].([]any); !ok || len(ip) != 0 {
				t.Fatalf("inProgressJobs = %v", m["inProgressJobs"])
			}
			if tok, _ := m["clientToken"].(string); len(tok) < 16 {
				t.Errorf("random clientToken %q", tok)
			}
			if r.Stderr != "" {
				t.Errorf("stderr not empty off a terminal: %q", r.Stderr)
			}

			r = iotjobs.Run(t, nil, append(conn, "start-next", "--status-detail", "step=download, then flash", "--step-timeout", "30", "--client-token", "my-token")...)
			testutil.WantExit(t, r, 0)
			m = testutil.Reply(t, r)
			if testutil.Path(m, "execution", "status") != "IN_PROGRESS" || testutil.Path(m, "execution", "statusDetails", "step") != "download, then flash" ||
				testutil.Path(m, "clientToken") != "my-token" || testutil.Path(m, "execution", "versionNumber") != 2.0 {
				t.Fatalf("start-next reply %v", m)
			}

			r = iotjobs.Run(t, nil, append(conn, "describe", "job-1", "--include-job-document=false")...)
			testutil.WantExit(t, r, 0)
			if m = testutil.Reply(t, r); testutil.Path(m, "execution", "jobDocument") != nil || testutil.Path(m, "execution", "jobId") != "job-1" {
				t.Fatalf("describe without document: %v", m)
			}
			r = iotjobs.Run(t, nil, append(conn, "describe", "$next")...)
			testutil.WantExit(t, r, 0)
			if m = testutil.Reply(t, r); testutil.Path(m, "execution", "jobDocument", "operation") != "reboot" {
				t.Fatalf("describe $next: %v", m)
			}
			r = iotjobs.Run(t, nil, append(conn, "describe", "--next", "--execution-number", "1", "--include-job-document")...)
			testutil.WantExit(t, r, 0)
			if m = testutil.Reply(t, r); testutil.Path(m, "execution", "executionNumber") != 1.0 {
				t.Fatalf("describe --next: %v", m)
			}

			r = iotjobs.Run(t, nil, append(conn, "update", "job-1", "--status", "IN_PROGRESS", "--status-detail", "progress=50%", "--status-detail", "note=a=b",
				"--expected-version", "2", "--include-job-execution-state", "--step-timeout", "-1")...)
			testutil.WantExit(t, r, 0)
			if m = testutil.Reply(t, r); testutil.Path(m, "executionState", "versionNumber") != 3.0 || testutil.Path(m, "executionState", "statusDetails", "note") != "a=b" || m["jobDocument"] != nil {
				t.Fatalf("update IN_PROGRESS: %v", m)
			}

			r = iotjobs.Run(t, nil, append(conn, "update", "job-1", "--status", "succeeded", "--expected-version", "3", "--execution-number", "1",
				"--include-job-execution-state", "--include-job-document")...)
			testutil.WantExit(t, r, 0)
			if m = testutil.Reply(t, r); testutil.Path(m, "executionState", "status") != "SUCCEEDED" || testutil.Path(m, "jobDocument", "operation") != "reboot" {
				t.Fatalf("update SUCCEEDED: %v", m)
			}

			r = iotjobs.Run(t, nil, append(conn, "get-pending")...)
			testutil.WantExit(t, r, 0)
			if r.Stdout[0] != '{' || strings.Contains(r.Stdout, "job-1") {
				t.Fatalf("get-pending after success: %s", r)
			}
			r = iotjobs.Run(t, nil, append(conn, "start-next")...)
			testutil.WantExit(t, r, 0)
			if m = testutil.Reply(t, r); m["execution"] != nil {
				t.Fatalf("start-next with nothing pending: %v", m)
			}
		})
	}
}

func TestRejectedExitCodes(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			testutil.CreateJob(t, emu, "done", "thing-1", `{}`)
			testutil.CreateJob(t, emu, "job-2", "thing-1", `{}`)
			conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
			testutil.WantExit(t, iotjobs.Run(t, nil, append(conn, "update", "done", "--status", "SUCCEEDED")...), 0)

			elevenDetails := []string{"start-next"}
			for i := range 11 {
				elevenDetails = append(elevenDetails, "--status-detail", "k"+string(rune('a'+i))+"=v")
			}
			tests := []struct {
				name   string
				code   string
				args   []string
				exit   int
				stderr string
				// hint is the command the hint suggests, with the
				// connection flags given; it must run as printed.
				hint string
			}{
				{"InvalidRequest", "InvalidRequest", elevenDetails, 12, "rejected: InvalidRequest", ""},
				{"InvalidStateTransition", "InvalidStateTransition", []string{"update", "done", "--status", "FAILED"}, 13, "rejected: InvalidStateTransition (execution is SUCCEEDED, version 2)", ""},
				{"ResourceNotFound", "ResourceNotFound", []string{"describe", "no-such-job"}, 14, "rejected: ResourceNotFound",
					"thing thing-1 has no execution of job no-such-job; list its pending jobs with: iotjobs get-pending -t thing-1 -e " + emu.Endpoint},
				{"ResourceNotFound/number", "ResourceNotFound", []string{"describe", "job-2", "--execution-number", "7"}, 14, "rejected: ResourceNotFound",
					"thing thing-1 has no execution number 7 of job job-2; see its latest with: iotjobs describe job-2 -t thing-1 -e " + emu.Endpoint},
				{"VersionMismatch", "VersionMismatch", []string{"update", "job-2", "--status", "IN_PROGRESS", "--expected-version", "7"}, 15, "rejected: VersionMismatch (expected 7, current 1)",
					"another update came first; read the current version with: iotjobs describe job-2 -t thing-1 -e " + emu.Endpoint},
				{"TerminalStateReached", "TerminalStateReached", []string{"describe", "done"}, 18, "rejected: TerminalStateReached",
					"the execution has finished; see the thing's pending jobs with: iotjobs get-pending -t thing-1 -e " + emu.Endpoint},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := iotjobs.Run(t, nil, append(conn, append(tt.args, "--client-token", "tok-"+tt.code)...)...)
					testutil.WantExit(t, r, tt.exit)
					m := testutil.Reply(t, r)
					if m["code"] != tt.code || m["clientToken"] != "tok-"+tt.code {
						t.Errorf("stdout is not the rejected payload: %v", m)
					}
					if !strings.Contains(r.Stderr, tt.stderr) {
						t.Errorf("stderr %q does not contain %q", r.Stderr, tt.stderr)
					}
					if tt.hint == "" {
						return
					}
					if !strings.Contains(r.Stderr, "hint: "+tt.hint+"\n") {
						t.Fatalf("stderr %q lacks the hint %q", r.Stderr, tt.hint)
					}
					_, suggested, _ := strings.Cut(tt.hint, "with: iotjobs ")
					testutil.WantExit(t, iotjobs.Run(t, nil, strings.Fields(suggested)...), 0)
				})
			}
		})
	}
}

// A second start-next returns the head already IN_PROGRESS as it is: the
// details it carried are not applied, and the command says so with the
// update that would apply them.
func TestStartNextNotesUnappliedDetails(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	conn := []string{"-t", "thing-1", "-e", emu.Endpoint}

	r := iotjobs.Run(t, nil, append(conn, "start-next", "--status-detail", "step=one")...)
	testutil.WantExit(t, r, 0)
	if r.Stderr != "" {
		t.Fatalf("first start-next applies its details, yet: %s", r)
	}
	r = iotjobs.Run(t, nil, append(conn, "start-next")...)
	testutil.WantExit(t, r, 0)
	if r.Stderr != "" {
		t.Fatalf("start-next without details has nothing to note: %s", r)
	}
	r = iotjobs.Run(t, nil, append(conn, "start-next", "--status-detail", "step=two and more", "--step-timeout", "5")...)
	testutil.WantExit(t, r, 0)
	if m := testutil.Reply(t, r); testutil.Path(m, "execution", "statusDetails", "step") != "one" {
		t.Fatalf("second start-next changed the details: %v", m)
	}
	want := "iotjobs update job-1 --status IN_PROGRESS --status-detail 'step=two and more' --step-timeout 5 -t thing-1 -e " + emu.Endpoint
	if !strings.Contains(r.Stderr, "note: job job-1 was already IN_PROGRESS") || !strings.Contains(r.Stderr, want) {
		t.Fatalf("no note on the unapplied details: %s", r)
	}
	// The hint runs as written.
	r = iotjobs.Run(t, nil, append(conn, "update", "job-1", "--status", "IN_PROGRESS", "--status-detail", "step=two and more", "--step-timeout", "5")...)
	testutil.WantExit(t, r, 0)
}
