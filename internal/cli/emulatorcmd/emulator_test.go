package emulatorcmd_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestEmulatorCommand runs the real binary: flag validation exits 2 before
// anything starts, and a started emulator prints its addresses, serves them
// and exits 0 on SIGTERM.
func TestEmulatorCommand(t *testing.T) {
	t.Run("usage errors", func(t *testing.T) {
		pki := testutil.NewPKI(t)
		missing := filepath.Join(t.TempDir(), "missing.pem")
		for _, tc := range []struct {
			name, want string
			args       []string
		}{
			{"mqtts without a certificate", "--mqtts needs --tls-cert and --tls-key", []string{"--mqtts", "127.0.0.1:0"}},
			{"certificate without mqtts", "give --mqtts", []string{"--tls-cert", pki.ServerCertFile, "--tls-key", pki.ServerKeyFile}},
			{"client CA without mqtts", "give --mqtts", []string{"--client-ca", pki.CAFile}},
			{"unreadable certificate", "missing.pem", []string{"--mqtts", "127.0.0.1:0", "--tls-cert", missing, "--tls-key", pki.ServerKeyFile}},
			{"key of another certificate", "--tls-cert", []string{"--mqtts", "127.0.0.1:0", "--tls-cert", pki.ServerCertFile, "--tls-key", pki.ClientKeyFile}},
			{"CA file without a certificate", "no PEM certificate", []string{"--mqtts", "127.0.0.1:0", "--tls-cert", pki.ServerCertFile, "--tls-key", pki.ServerKeyFile, "--client-ca", pki.ServerKeyFile}},
			{"broker and mqtt", "--broker cannot be combined", []string{"--broker", "mqtt://127.0.0.1:1", "--mqtt", "127.0.0.1:0"}},
			{"broker and mqtts", "--broker cannot be combined", []string{"--broker", "mqtt://127.0.0.1:1", "--mqtts", "127.0.0.1:0", "--tls-cert", pki.ServerCertFile, "--tls-key", pki.ServerKeyFile}},
			{"broker URL with another scheme", "--broker", []string{"--broker", "ws://127.0.0.1:1"}},
			{"no listener", "needs --mqtt or --mqtts", []string{"--mqtt", ""}},
			{"address without a port", "invalid --mqtt", []string{"--mqtt", "127.0.0.1"}},
			{"port out of range", "invalid --http", []string{"--http", "127.0.0.1:70000"}},
			{"negative minute", "--minute must be a positive duration", []string{"--minute", "-1s"}},
			{"not a duration", "--minute", []string{"--minute", "fast"}},
			{"an argument", "unknown command", []string{"serve"}},
			{"data in a missing directory", "the directory /nonexistent/dir does not exist", []string{"--data", "/nonexistent/dir/x.db"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				args := append([]string{"emulator", "--data", ":memory:"}, tc.args...)
				res := iotjobs.Run(t, nil, args...)
				if res.ExitCode != 2 || !strings.Contains(res.Stderr, tc.want) {
					t.Fatalf("want exit 2 and %q on stderr, got %s", tc.want, res)
				}
				if res.Stdout != "" {
					t.Errorf("printed on stdout: %s", res.Stdout)
				}
			})
		}
	})

	t.Run("serves until SIGTERM", func(t *testing.T) {
		state := t.TempDir()
		cmd := exec.Command(iotjobs.Path, "emulator", "--mqtt", "127.0.0.1:0", "--http", "127.0.0.1:0")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_STATE_HOME=" + state}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		t.Cleanup(func() {
			cmd.Process.Kill()
		})

		served := map[string]string{}
		lines := bufio.NewScanner(stdout)
		for len(served) < 4 && lines.Scan() {
			name, value, _ := strings.Cut(lines.Text(), " ")
			served[name] = strings.TrimSpace(value)
		}
		go func() {
			io.Copy(io.Discard, stdout)
			exited <- cmd.Wait()
		}()

		wantData := filepath.Join(state, "iotjobs", "emulator.db")
		if served["data"] != wantData {
			t.Errorf("data %q, want the default under XDG_STATE_HOME, %q", served["data"], wantData)
		}
		if _, err := os.Stat(wantData); err != nil {
			t.Errorf("store not created: %v", err)
		}
		if served["minute"] != "1m0s" {
			t.Errorf("minute %q, want the default 1m0s", served["minute"])
		}
		for name, scheme := range map[string]string{"mqtt": "mqtt://", "http": "http://"} {
			addr, ok := strings.CutPrefix(served[name], scheme)
			if !ok {
				t.Fatalf("no %s address printed; stdout had %v", name, served)
			}
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatalf("%s not served at %s: %v", name, addr, err)
			}
			conn.Close()
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("still running 10s after SIGTERM\n%s", stderr.String())
		}
		if !strings.Contains(stderr.String(), "stopped") {
			t.Errorf("stderr does not tell that it stopped:\n%s", stderr.String())
		}
	})
}

// TestEmulatorBusyAddressNamesTheFlag: the emulator names the field of a
// listener it cannot bind; the command names the flag that sets it.
func TestEmulatorBusyAddressNamesTheFlag(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	res := iotjobs.Run(t, nil, "emulator", "--data", ":memory:", "--mqtt", "127.0.0.1:0", "--http", addr)
	want := "--http " + addr + ": the address is in use"
	if res.ExitCode != 1 || !strings.Contains(res.Stderr, want) || !strings.Contains(res.Stderr, "Choose another with --http HOST:PORT") {
		t.Fatalf("want exit 1 and %q on stderr, got %s", want, res)
	}
}

// TestEmulatorVerboseLogsRequests: with -v each device request is a log
// line with its topic, client id, outcome and latency; the banner shows
// the --minute in force.
func TestEmulatorVerboseLogsRequests(t *testing.T) {
	testutil.IsolateFromUserSettings(t)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "emulator", "-v", "--mqtt", "127.0.0.1:0", "--http", "", "--data", ":memory:", "--minute", "2s")
	banner := map[string]string{}
	for banner["minute"] == "" {
		name, value, _ := strings.Cut(p.Line(t, 10*time.Second), " ")
		banner[name] = strings.TrimSpace(value)
	}
	endpoint := banner["mqtt"]
	if banner["minute"] != "2s" || !strings.HasPrefix(endpoint, "mqtt://") {
		t.Fatalf("banner %v", banner)
	}
	testutil.WantExit(t, iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "-e", endpoint), 0)
	testutil.WantExit(t, iotjobs.Run(t, nil, "describe", "nope", "-t", "thing-1", "-e", endpoint), 14)
	p.WaitStderr(t, "msg=request component=requests topic=$aws/things/thing-1/jobs/get client=thing-1 outcome=accepted latency=", 10*time.Second)
	// Log times are RFC 3339 in UTC to the second, as every time iotjobs
	// shows (slog's own format has milliseconds and the local zone).
	p.Signal(t, syscall.SIGTERM)
	logs := p.Wait(t).Stderr
	if !regexp.MustCompile(`(?m)^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ level=DEBUG msg=request`).MatchString(logs) {
		t.Errorf("log times:\n%s", logs)
	}
	p.WaitStderr(t, `topic=$aws/things/thing-1/jobs/nope/get client=thing-1 outcome="rejected ResourceNotFound"`, 10*time.Second)
}

// TestEmulatorJSONOutput: with -o json the ready addresses are one JSON
// object on stdout and every log record is a JSON line on stderr, the -v
// request log included.
func TestEmulatorJSONOutput(t *testing.T) {
	testutil.IsolateFromUserSettings(t)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "emulator", "-o", "JSON", "-v", "--no-color", "--mqtt", "127.0.0.1:0", "--http", "127.0.0.1:0", "--data", ":memory:")
	var ready map[string]string
	if err := json.Unmarshal([]byte(p.Line(t, 10*time.Second)), &ready); err != nil {
		t.Fatalf("the ready line is not one JSON object: %v", err)
	}
	if !strings.HasPrefix(ready["mqtt"], "mqtt://127.0.0.1:") || !strings.HasPrefix(ready["http"], "http://127.0.0.1:") ||
		ready["data"] != ":memory:" || ready["minute"] != "1m0s" || len(ready) != 4 {
		t.Fatalf("ready %v", ready)
	}
	testutil.WantExit(t, iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "-e", ready["mqtt"]), 0)
	p.WaitStderr(t, `"msg":"request","component":"requests","topic":"$aws/things/thing-1/jobs/get","client":"thing-1","outcome":"accepted"`, 10*time.Second)
	p.Signal(t, syscall.SIGTERM)
	for _, line := range strings.Split(strings.TrimSpace(p.Wait(t).Stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["level"] == nil {
			t.Errorf("a log line that is not a JSON record: %q", line)
		}
	}
	testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "-o", "yaml", "--data", ":memory:"), 2)
}

// TestEmulatorPolicyFlag: --policy files are read before anything starts:
// a bad one is a usage error that names the file, the statement and the
// position; attach mode refuses them; a good one is in the banner.
func TestEmulatorPolicyFlag(t *testing.T) {
	testutil.IsolateFromUserSettings(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	testutil.WriteFile(t, bad, "{\"Version\": \"2012-10-17\",\n \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"iot:*\",}]}")
	r := iotjobs.Run(t, nil, "emulator", "--policy", bad, "--data", ":memory:", "--mqtt", "127.0.0.1:0", "--http", "")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, "--policy: "+bad+": line 2, column ") {
		t.Errorf("a policy with a trailing comma:\n%s", r)
	}
	notAction := filepath.Join(dir, "notaction.json")
	testutil.WriteFile(t, notAction, `{"Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}, {"Effect": "Deny", "NotAction": "iot:Connect", "Resource": "*"}]}`)
	r = iotjobs.Run(t, nil, "emulator", "--policy", notAction, "--data", ":memory:", "--mqtt", "127.0.0.1:0", "--http", "")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, notAction+": statement 2: the NotAction and NotResource elements are not supported") {
		t.Errorf("NotAction:\n%s", r)
	}
	good := filepath.Join(dir, "good.json")
	testutil.WriteFile(t, good, `{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iot:*", "Resource": "*"}}`)
	r = iotjobs.Run(t, nil, "emulator", "--policy", good, "--broker", "mqtt://127.0.0.1:1", "--data", ":memory:", "--http", "")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, "--policy apply to the embedded broker") {
		t.Errorf("--policy in attach mode:\n%s", r)
	}
	p := testutil.StartBinary(t, iotjobs.Path, nil, "emulator", "--policy", good, "--mqtt", "127.0.0.1:0", "--http", "", "--data", ":memory:")
	for !strings.HasPrefix(p.Line(t, 10*time.Second), "policy") {
	}
	p.WaitStderr(t, `msg="enforcing IoT policies" component=policy documents=1 statements=1 region=us-east-1 account=123456789012`, 10*time.Second)
	p.Signal(t, syscall.SIGTERM)
	testutil.WantExit(t, p.Wait(t), 0)
}

// TestEmulatorEventsInTheBanner: with --events the banner says which event
// types are published, as -o json does.
func TestEmulatorEventsInTheBanner(t *testing.T) {
	testutil.IsolateFromUserSettings(t)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "emulator", "--events", "--mqtt", "127.0.0.1:0", "--http", "", "--data", ":memory:")
	var lines []string // mqtt, data, minute, events
	for range 4 {
		lines = append(lines, p.Line(t, 10*time.Second))
	}
	if last := lines[len(lines)-1]; strings.Join(strings.Fields(last), " ") != "events JOB, JOB_EXECUTION" {
		t.Errorf("banner:\n%s", strings.Join(lines, "\n"))
	}
	p.Signal(t, syscall.SIGTERM)
	p.Wait(t)
	p = testutil.StartBinary(t, iotjobs.Path, nil, "emulator", "--events", "-o", "json", "--mqtt", "127.0.0.1:0", "--http", "", "--data", ":memory:")
	var ready struct{ Events []string }
	if err := json.Unmarshal([]byte(p.Line(t, 10*time.Second)), &ready); err != nil || strings.Join(ready.Events, ",") != "JOB,JOB_EXECUTION" {
		t.Errorf("ready line: %+v %v", ready, err)
	}
	p.Signal(t, syscall.SIGTERM)
	p.Wait(t)
}
