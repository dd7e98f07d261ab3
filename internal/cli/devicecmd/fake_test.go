package devicecmd_test

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient/mqtttest"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// These tests put the binary in front of a real broker (embedded mochi) with
// a scripted service, for the replies the emulator never gives.

func TestEveryRejectedCodeHasItsExitCode(t *testing.T) {
	want := map[jobs.ErrorCode]int{
		jobs.CodeInvalidTopic: 10, jobs.CodeInvalidJSON: 11, jobs.CodeInvalidRequest: 12,
		jobs.CodeInvalidStateTransition: 13, jobs.CodeResourceNotFound: 14, jobs.CodeVersionMismatch: 15,
		jobs.CodeInternalError: 16, jobs.CodeRequestThrottled: 17, jobs.CodeTerminalStateReached: 18,
		"SomethingNew": 1,
	}
	for code, exit := range want {
		t.Run(string(code), func(t *testing.T) {
			b := mqtttest.Start(t, mqtttest.Options{Respond: func(topic string, payload []byte) []mqtttest.Message {
				body := fmt.Sprintf(`{ "code" : %q, "message":"because", "clientToken":%q, "timestamp":5 }`, code, jobs.ClientTokenOf(payload))
				return []mqtttest.Message{{Topic: topic + "/rejected", Payload: []byte(body)}}
			}})
			r := iotjobs.Run(t, nil, "describe", "job-1", "-t", "thing-1", "-e", "mqtt://"+b.Addr, "--client-token", "t1")
			testutil.WantExit(t, r, exit)
			// Byte for byte the service's JSON, compacted, key order kept.
			if wantOut := fmt.Sprintf(`{"code":%q,"message":"because","clientToken":"t1","timestamp":5}`+"\n", code); r.Stdout != wantOut {
				t.Errorf("stdout %q, want %q", r.Stdout, wantOut)
			}
			if !strings.Contains(r.Stderr, "rejected: "+string(code)+": because") {
				t.Errorf("stderr %q", r.Stderr)
			}
		})
	}
}

func TestRepliesForOtherClientTokensAreIgnored(t *testing.T) {
	// The foreign replies come first; ours comes once they have surely been
	// handled, since paho may hand messages to us in any order.
	started := make(chan *mqtttest.Broker, 1)
	b := mqtttest.Start(t, mqtttest.Options{Respond: func(topic string, payload []byte) []mqtttest.Message {
		ours := []byte(`{"timestamp":2,"clientToken":"` + jobs.ClientTokenOf(payload) + `"}`)
		time.AfterFunc(300*time.Millisecond, func() {
			b := <-started
			started <- b
			_ = b.Publish(topic+"/accepted", ours)
		})
		return []mqtttest.Message{
			{Topic: topic + "/accepted", Payload: []byte(`{"timestamp":1,"clientToken":"not-yours"}`)},
			{Topic: topic + "/rejected", Payload: []byte(`{"code":"InternalError","timestamp":1,"clientToken":"not-yours-either"}`)},
		}
	}})
	started <- b
	r := iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "-e", "mqtt://"+b.Addr, "--client-token", "mine", "-v")
	testutil.WantExit(t, r, 0)
	if r.Stdout != `{"timestamp":2,"clientToken":"mine"}`+"\n" {
		t.Errorf("stdout %q", r.Stdout)
	}
	for _, token := range []string{"not-yours", "not-yours-either"} {
		if !strings.Contains(r.Stderr, `ignoring the reply for client token "`+token+`"`) {
			t.Errorf("verbose trace does not show the ignored reply for %s:\n%s", token, r.Stderr)
		}
	}
}

func TestPrettyOutput(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{Respond: func(topic string, payload []byte) []mqtttest.Message {
		return []mqtttest.Message{{Topic: topic + "/accepted", Payload: []byte(`{"timestamp":2,"clientToken":"` + jobs.ClientTokenOf(payload) + `"}`)}}
	}})
	args := []string{"get-pending", "-t", "thing-1", "-e", "mqtt://" + b.Addr, "--client-token", "x"}
	r := iotjobs.Run(t, nil, append(args, "-o", "pretty")...)
	testutil.WantExit(t, r, 0)
	if want := "{\n  \"timestamp\": 2,  # 1970-01-01T00:00:02Z\n  \"clientToken\": \"x\"\n}\n"; r.Stdout != want {
		t.Errorf("pretty stdout %q, want %q", r.Stdout, want)
	}
	r = iotjobs.Run(t, []string{"IOTJOBS_OUTPUT=pretty", "CLICOLOR_FORCE=1"}, args...)
	if !strings.Contains(r.Stdout, "\x1b[") {
		t.Errorf("CLICOLOR_FORCE gave no colour: %q", r.Stdout)
	}
	r = iotjobs.Run(t, []string{"IOTJOBS_OUTPUT=pretty", "CLICOLOR_FORCE=1"}, append(args, "--no-color")...)
	if strings.Contains(r.Stdout, "\x1b[") {
		t.Errorf("--no-color still coloured: %q", r.Stdout)
	}
	r = iotjobs.Run(t, []string{"IOTJOBS_OUTPUT=pretty", "CLICOLOR_FORCE=1", "NO_COLOR=1"}, args...)
	if strings.Contains(r.Stdout, "\x1b[") {
		t.Errorf("NO_COLOR still coloured: %q", r.Stdout)
	}
	r = iotjobs.Run(t, []string{"IOTJOBS_OUTPUT=pretty"}, append(args, "-o", "json")...)
	if r.Stdout != `{"timestamp":2,"clientToken":"x"}`+"\n" {
		t.Errorf("-o json does not win over IOTJOBS_OUTPUT: %q", r.Stdout)
	}
}

func TestNoReplyTimesOut(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	r := iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "-e", "mqtt://"+b.Addr, "--timeout", "500ms")
	testutil.WantExit(t, r, 4)
	if r.Elapsed > 500*time.Millisecond+3*time.Second {
		t.Errorf("took %s with --timeout 500ms", r.Elapsed)
	}
	if !strings.Contains(r.Stderr, "no reply to get-pending within 500ms") || r.Stdout != "" {
		t.Errorf("%s", r)
	}
}

func TestNothingListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "-e", "mqtt://"+addr)
	testutil.WantExit(t, r, 3)
	if !strings.Contains(r.Stderr, "connection refused by "+addr) || !strings.Contains(r.Stderr, "hint:") {
		t.Errorf("%s", r)
	}
}

func TestServerHangsUpAfterPublish(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{HangUpOn: func(topic string) bool { return strings.HasSuffix(topic, "/update") }})
	r := iotjobs.Run(t, nil, "update", "job-1", "--status", "SUCCEEDED", "-t", "thing-1", "-e", "mqtt://"+b.Addr)
	testutil.WantExit(t, r, 3)
	for _, want := range []string{"closed the connection right after our SUBSCRIBE to $aws/things/thing-1/jobs/job-1/update/accepted, $aws/things/thing-1/jobs/job-1/update/rejected and PUBLISH to $aws/things/thing-1/jobs/job-1/update",
		"iot:Publish on topic/$aws/things/thing-1/jobs/job-1/update", "iot:Subscribe on topicfilter/$aws/things/thing-1/jobs/job-1/update/accepted",
		"\n  check the certificate's policy with: iotjobs policy -t thing-1 --for update --check POLICY.json\n"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, r.Stderr)
		}
	}
}

func TestInterruptExits130(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{}) // never answers
	cmd := exec.Command(iotjobs.Path, "get-pending", "-t", "thing-1", "-e", "mqtt://"+b.Addr, "--timeout", "30s")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the request is on the wire, then press Ctrl-C.
	deadline := time.Now().Add(10 * time.Second)
	for len(b.Published()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	exitErr, ok := err.(*exec.ExitError)
	if !ok || exitErr.ExitCode() != 130 {
		t.Fatalf("err = %v, want exit 130; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// TestConnectTimeoutSaysItsBound: a server that accepts and never answers
// CONNECT; the error names --timeout, not the moment the wait ended.
func TestConnectTimeoutSaysItsBound(t *testing.T) {
	silent := testutil.SilentListener(t)
	r := iotjobs.Run(t, nil, "get-pending", "-t", "thing-1", "--client-id", "c", "-e", "mqtt://"+silent, "--timeout", "300ms")
	testutil.WantExit(t, r, 3)
	if !strings.Contains(r.Stderr, "did not complete the connection within 300ms") {
		t.Errorf("stderr: %s", r.Stderr)
	}
}
