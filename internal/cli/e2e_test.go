package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// reply decodes the one JSON line a command printed on stdout.
func reply(t *testing.T, r testutil.Result) map[string]any {
	t.Helper()
	if strings.Count(r.Stdout, "\n") != 1 || !strings.HasSuffix(r.Stdout, "\n") {
		t.Fatalf("stdout is not one line:\n%s", r)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r)
	}
	return m
}

func wantExit(t *testing.T, r testutil.Result, code int) {
	t.Helper()
	if r.ExitCode != code {
		t.Fatalf("exit %d, want %d\n%s", r.ExitCode, code, r)
	}
}

// path digs a value out of decoded JSON: path(m, "execution", "status").
func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[k]
	}
	return v
}

func createJob(t *testing.T, emu *testutil.Emulator, jobID, thing, doc string) {
	t.Helper()
	if _, err := emu.Engine().CreateJob(emulator.CreateJobInput{JobID: jobID, Targets: []string{thing}, Document: doc}); err != nil {
		t.Fatalf("create job %s: %v", jobID, err)
	}
}

// emulators are the two setups the device suite runs against: the
// embedded broker, and Mosquitto 2 with the emulator attached as a client.
func emulators() map[string][]testutil.Option {
	return map[string][]testutil.Option{"embedded": nil, "mosquitto": {testutil.WithMosquitto()}}
}

func TestDeviceWalkthrough(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			createJob(t, emu, "job-1", "thing-1", `{"operation":"reboot"}`)
			// Environment variables stand in for the flags.
			env := []string{"IOTJOBS_THING=thing-1", "IOTJOBS_ENDPOINT=" + emu.Endpoint}
			conn := []string{"-t", "thing-1", "-e", emu.Endpoint}

			r := run(t, env, "get-pending")
			wantExit(t, r, 0)
			m := reply(t, r)
			if q, _ := m["queuedJobs"].([]any); len(q) != 1 || path(q[0].(map[string]any), "jobId") != "job-1" {
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

			r = run(t, nil, append(conn, "start-next", "--status-detail", "step=download, then flash", "--step-timeout", "30", "--client-token", "my-token")...)
			wantExit(t, r, 0)
			m = reply(t, r)
			if path(m, "execution", "status") != "IN_PROGRESS" || path(m, "execution", "statusDetails", "step") != "download, then flash" ||
				path(m, "clientToken") != "my-token" || path(m, "execution", "versionNumber") != 2.0 {
				t.Fatalf("start-next reply %v", m)
			}

			r = run(t, nil, append(conn, "describe", "job-1", "--include-job-document=false")...)
			wantExit(t, r, 0)
			if m = reply(t, r); path(m, "execution", "jobDocument") != nil || path(m, "execution", "jobId") != "job-1" {
				t.Fatalf("describe without document: %v", m)
			}
			r = run(t, nil, append(conn, "describe", "$next")...)
			wantExit(t, r, 0)
			if m = reply(t, r); path(m, "execution", "jobDocument", "operation") != "reboot" {
				t.Fatalf("describe $next: %v", m)
			}
			r = run(t, nil, append(conn, "describe", "--next", "--execution-number", "1", "--include-job-document")...)
			wantExit(t, r, 0)
			if m = reply(t, r); path(m, "execution", "executionNumber") != 1.0 {
				t.Fatalf("describe --next: %v", m)
			}

			r = run(t, nil, append(conn, "update", "job-1", "--status", "IN_PROGRESS", "--status-detail", "progress=50%", "--status-detail", "note=a=b",
				"--expected-version", "2", "--include-job-execution-state", "--step-timeout", "-1")...)
			wantExit(t, r, 0)
			if m = reply(t, r); path(m, "executionState", "versionNumber") != 3.0 || path(m, "executionState", "statusDetails", "note") != "a=b" || m["jobDocument"] != nil {
				t.Fatalf("update IN_PROGRESS: %v", m)
			}

			r = run(t, nil, append(conn, "update", "job-1", "--status", "succeeded", "--expected-version", "3", "--execution-number", "1",
				"--include-job-execution-state", "--include-job-document")...)
			wantExit(t, r, 0)
			if m = reply(t, r); path(m, "executionState", "status") != "SUCCEEDED" || path(m, "jobDocument", "operation") != "reboot" {
				t.Fatalf("update SUCCEEDED: %v", m)
			}

			r = run(t, nil, append(conn, "get-pending")...)
			wantExit(t, r, 0)
			if r.Stdout[0] != '{' || strings.Contains(r.Stdout, "job-1") {
				t.Fatalf("get-pending after success: %s", r)
			}
			r = run(t, nil, append(conn, "start-next")...)
			wantExit(t, r, 0)
			if m = reply(t, r); m["execution"] != nil {
				t.Fatalf("start-next with nothing pending: %v", m)
			}
		})
	}
}

func TestRejectedExitCodes(t *testing.T) {
	for name, opts := range emulators() {
		t.Run(name, func(t *testing.T) {
			emu := testutil.StartEmulator(t, opts...)
			createJob(t, emu, "done", "thing-1", `{}`)
			createJob(t, emu, "job-2", "thing-1", `{}`)
			conn := []string{"-t", "thing-1", "-e", emu.Endpoint}
			wantExit(t, run(t, nil, append(conn, "update", "done", "--status", "SUCCEEDED")...), 0)

			elevenDetails := []string{"start-next"}
			for i := range 11 {
				elevenDetails = append(elevenDetails, "--status-detail", "k"+string(rune('a'+i))+"=v")
			}
			tests := []struct {
				name   string
				args   []string
				exit   int
				stderr string
			}{
				{"InvalidRequest", elevenDetails, 12, "rejected: InvalidRequest"},
				{"InvalidStateTransition", []string{"update", "done", "--status", "FAILED"}, 13, "rejected: InvalidStateTransition (execution is SUCCEEDED, version 2)"},
				{"ResourceNotFound", []string{"describe", "no-such-job"}, 14, "rejected: ResourceNotFound"},
				{"VersionMismatch", []string{"update", "job-2", "--status", "IN_PROGRESS", "--expected-version", "7"}, 15, "rejected: VersionMismatch (expected 7, current 1)"},
				{"TerminalStateReached", []string{"describe", "done"}, 18, "rejected: TerminalStateReached"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r := run(t, nil, append(conn, append(tt.args, "--client-token", "tok-"+tt.name)...)...)
					wantExit(t, r, tt.exit)
					m := reply(t, r)
					if m["code"] != tt.name || m["clientToken"] != "tok-"+tt.name {
						t.Errorf("stdout is not the rejected payload: %v", m)
					}
					if !strings.Contains(r.Stderr, tt.stderr) {
						t.Errorf("stderr %q does not contain %q", r.Stderr, tt.stderr)
					}
				})
			}
		})
	}
}
