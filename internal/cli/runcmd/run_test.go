package runcmd_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// handler writes a handler script and returns its path.
func handler(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "handler.sh")
	testutil.WriteFile(t, path, "#!/bin/sh\n"+body)
	if err := exec.Command("chmod", "755", path).Run(); err != nil {
		t.Fatal(err)
	}
	return path
}

// execution is what the control plane says of thing's latest execution of
// job, or of the one that flags such as --execution-number N name.
func execution(t *testing.T, emu *testutil.Emulator, job, thing string, flags ...string) (status string, details map[string]string) {
	t.Helper()
	r := iotjobs.Run(t, nil, append([]string{"emulator", "describe-execution", job, "-t", thing, "--emulator", emu.HTTPURL, "-o", "json"}, flags...)...)
	testutil.WantExit(t, r, 0)
	var m struct {
		Execution struct {
			Status        string
			StatusDetails struct{ DetailsMap map[string]string }
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		t.Fatal(err)
	}
	return m.Execution.Status, m.Execution.StatusDetails.DetailsMap
}

// TestRunSucceedsAndFails: a handler that exits 0 makes the execution
// SUCCEEDED, another FAILED, each with its exit code, duration, output
// tail (stdout and stderr, in the order they were read, lines joined by
// ⏎) and progress in statusDetails; the job document is on its stdin and
// the ids in its environment.
func TestRunSucceedsAndFails(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "good", "thing-1", `{"op":"install"}`)
	testutil.CreateJob(t, emu, "bad", "thing-1", `{"op":"break"}`)
	h := handler(t, `doc=$(cat)
echo "job $IOTJOBS_JOB_ID of $IOTJOBS_THING, execution $IOTJOBS_EXECUTION_NUMBER: $doc"
echo "::progress step=download pct=50"
echo "::progress step=install"
echo "to stderr" >&2
[ "$IOTJOBS_JOB_ID" = bad ] && exit 3
exit 0
`)
	r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", h, "--max-jobs", "2")
	testutil.WantExit(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"jobId":"good","executionNumber":1,"status":"SUCCEEDED","exitCode":0`) ||
		!strings.Contains(lines[1], `"jobId":"bad","executionNumber":1,"status":"FAILED","exitCode":3`) {
		t.Fatalf("results:\n%s", r)
	}
	status, details := execution(t, emu, "good", "thing-1")
	if status != "SUCCEEDED" || details["exitCode"] != "0" || details["step"] != "install" || details["pct"] != "50" ||
		!strings.Contains(details["output"], `job good of thing-1, execution 1: {"op":"install"}`) ||
		!strings.Contains(details["output"], "⏎") || !strings.Contains(details["output"], "to stderr") || details["durationMs"] == "" {
		t.Errorf("good: %s %v", status, details)
	}
	if status, details := execution(t, emu, "bad", "thing-1"); status != "FAILED" || details["exitCode"] != "3" {
		t.Errorf("bad: %s %v", status, details)
	}
	if !strings.Contains(r.Stderr, "to stderr") || strings.Contains(r.Stderr, "::progress") {
		t.Errorf("the handler's output on stderr, progress lines taken:\n%s", r.Stderr)
	}
}

// TestRunProgressWithinTheLimits: statusDetails hold 10 pairs of values up
// to 1024 characters: 7 progress keys fit beside the outcome's exitCode,
// durationMs and output; the keys that do not fit, and malformed progress,
// are said on stderr, not silently dropped; a long output keeps its tail.
func TestRunProgressWithinTheLimits(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "many", "thing-1", `{}`)
	h := handler(t, `echo "::progress k1=1 k2=2 k3=3 k4=4 k5=5 k6=6 k7=7 k8=8 k9=9"
echo "::progress bad.key=1"
head -c 3000 /dev/zero | tr '\0' x
echo
echo "the end"
`)
	r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", h, "--once")
	testutil.WantExit(t, r, 0)
	status, details := execution(t, emu, "many", "thing-1")
	if status != "SUCCEEDED" || len(details) != 10 || details["k7"] != "7" || details["k8"] != "" ||
		utf8.RuneCountInString(details["output"]) > 1024 || !strings.HasSuffix(details["output"], "the end") {
		t.Errorf("%s: %d pairs %v", status, len(details), details)
	}
	if !strings.Contains(r.Stderr, "job many: progress k8, k9 not reported: statusDetails hold 10 pairs, 3 of them kept for the outcome") ||
		!strings.Contains(r.Stderr, `job many: progress "bad.key=1" ignored: want key=value`) {
		t.Errorf("what was dropped is not said:\n%s", r.Stderr)
	}
}

// TestRunOnceWaitsForAJob: --once with nothing pending waits for
// notify-next, runs the job that comes and exits with its outcome.
func TestRunOnceWaitsForAJob(t *testing.T) {
	emu := testutil.StartEmulator(t)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "exit 1", "--once", "-v")
	p.WaitStderr(t, "* watching $aws/things/thing-1/jobs/notify-next", 10*time.Second)
	p.WaitStderr(t, "< $aws/things/thing-1/jobs/start-next/accepted", 10*time.Second)
	testutil.CreateJob(t, emu, "late", "thing-1", `{}`)
	r := p.Wait(t)
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stdout, `"jobId":"late"`) || !strings.Contains(r.Stdout, `"status":"FAILED","exitCode":1`) {
		t.Errorf("result:\n%s", r)
	}
}

// TestRunResumesAfterACrash: a runner killed with SIGKILL leaves the
// execution IN_PROGRESS, and the next run resumes it.
func TestRunResumesAfterACrash(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "sleep 2", "-v")
	p.WaitStderr(t, "< $aws/things/thing-1/jobs/start-next/accepted", 10*time.Second)
	p.Signal(t, syscall.SIGKILL)
	p.Wait(t)
	if status, _ := execution(t, emu, "job-1", "thing-1"); status != "IN_PROGRESS" {
		t.Fatalf("after the crash: %s", status)
	}
	r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "true", "--once")
	testutil.WantExit(t, r, 0)
	if status, _ := execution(t, emu, "job-1", "thing-1"); status != "SUCCEEDED" {
		t.Errorf("resumed: %s\n%s", status, r)
	}
}

// TestRunStopsGracefully: SIGTERM takes no new job; the running handler
// has --grace, then is terminated, and its outcome is reported.
func TestRunStopsGracefully(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "slow", "thing-1", `{}`)
	testutil.CreateJob(t, emu, "next", "thing-1", `{}`)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "sleep 30", "--grace", "200ms", "-v")
	p.WaitStderr(t, "< $aws/things/thing-1/jobs/start-next/accepted", 10*time.Second)
	p.Signal(t, syscall.SIGTERM)
	r := p.Wait(t)
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stdout, `"jobId":"slow","executionNumber":1,"status":"FAILED","signal":"terminated"`) ||
		!strings.Contains(r.Stderr, "stopping: no new job; the handler of job slow has 200ms to finish") {
		t.Errorf("stop:\n%s", r)
	}
	if status, details := execution(t, emu, "slow", "thing-1"); status != "FAILED" || details["signal"] != "terminated" {
		t.Errorf("slow: %s %v", status, details)
	}
	if status, _ := execution(t, emu, "next", "thing-1"); status != "QUEUED" {
		t.Errorf("a new job was taken after SIGTERM: %s", status)
	}
}

func TestRunBadInput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-t", "thing-1"}, "run needs the handler: --exec 'COMMAND'"},
		{[]string{"run", "-t", "thing-1", "--exec", "true", "--max-jobs", "-1"}, "invalid --max-jobs -1"},
		{[]string{"run", "-t", "thing-1", "--exec", "true", "--step-timeout", "99999"}, "invalid --step-timeout 99999"},
		{[]string{"run", "-t", "thing-1", "--exec", "true", "--minute", "0s"}, "invalid --minute 0s"},
		{[]string{"run", "--exec", "true"}, "no thing given"},
	} {
		r := iotjobs.Run(t, nil, append(tt.args, "-e", "mqtt://127.0.0.1:1")...)
		if r.ExitCode != 2 || !strings.Contains(r.Stderr, tt.want) {
			t.Errorf("%v: want exit 2 and %q:\n%s", tt.args, tt.want, r)
		}
	}
}

// TestRunStopsWhenTheExecutionEnds: an execution canceled, or timed out by
// its step timer, while its handler runs: the handler is stopped, run says
// what happened, and sends no update the service would refuse.
func TestRunStopsWhenTheExecutionEnds(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMinute(300*time.Millisecond))
	testutil.CreateJob(t, emu, "canceled", "thing-1", `{}`)
	p := testutil.StartBinary(t, iotjobs.Path, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "sleep 30", "--once", "-v")
	p.WaitStderr(t, "< $aws/things/thing-1/jobs/start-next/accepted", 10*time.Second)
	testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "cancel-execution", "canceled", "-t", "thing-1", "--force", "--emulator", emu.HTTPURL), 0)
	r := p.Wait(t)
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stdout, `"jobId":"canceled","executionNumber":1,"status":"CANCELED","signal":"terminated"`) ||
		!strings.Contains(r.Stderr, "job canceled is CANCELED: its handler is stopped") {
		t.Errorf("canceled:\n%s", r)
	}

	// A step timeout of one emulated minute (300 ms here).
	testutil.CreateJob(t, emu, "slow", "thing-1", `{}`)
	r = iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "sleep 30", "--once", "--step-timeout", "1")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stdout, `"jobId":"slow","executionNumber":1,"status":"TIMED_OUT"`) {
		t.Errorf("timed out:\n%s", r)
	}
	if status, _ := execution(t, emu, "slow", "thing-1"); status != "TIMED_OUT" {
		t.Errorf("slow: %s", status)
	}
}

// TestRunStopsARetriedExecution: an execution that times out under its
// handler and is retried, which puts the same job at the head of the queue
// with another executionNumber, is over for its handler: the handler is
// stopped, and run reports that execution number TIMED_OUT, not the
// handler's outcome (which the retry would have taken, or refused). A run
// that goes on then runs the retry.
func TestRunStopsARetriedExecution(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMinute(time.Second))
	testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "create-job", "rt", "-t", "thing-1,thing-2", "--document", `{}`,
		"--in-progress-timeout", "3", "--retry", "TIMED_OUT:1", "--emulator", emu.HTTPURL), 0)
	// The first execution outlives its in-progress timer (3 emulated
	// minutes, 3 s) and leaves a file only if it is not stopped; the retry
	// leaves its file at once.
	dir := t.TempDir()
	h := handler(t, `if [ "$IOTJOBS_EXECUTION_NUMBER" = 1 ]; then sleep 20; fi
touch "`+dir+`/$IOTJOBS_THING-$IOTJOBS_EXECUTION_NUMBER"
`)
	ran := func(thing string, number int) bool {
		_, err := os.Stat(filepath.Join(dir, fmt.Sprintf("%s-%d", thing, number)))
		return err == nil
	}

	r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", h, "--once")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stdout, `"jobId":"rt","executionNumber":1,"status":"TIMED_OUT","signal":"terminated"`) ||
		strings.Contains(r.Stdout, "SUCCEEDED") || !strings.Contains(r.Stderr, "job rt is TIMED_OUT: its handler is stopped") {
		t.Errorf("a retried execution:\n%s", r)
	}
	if ran("thing-1", 1) {
		t.Error("the handler of the timed-out execution ran to its end")
	}
	if status, _ := execution(t, emu, "rt", "thing-1", "--execution-number", "1"); status != "TIMED_OUT" {
		t.Errorf("thing-1 execution 1: %s", status)
	}
	if status, _ := execution(t, emu, "rt", "thing-1"); status != "QUEUED" {
		t.Errorf("thing-1 execution 2: %s", status)
	}

	// Without --once, the run takes the retry next.
	r = iotjobs.Run(t, nil, "run", "-t", "thing-2", "-e", emu.Endpoint, "--exec", h, "--max-jobs", "2")
	testutil.WantExit(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"jobId":"rt","executionNumber":1,"status":"TIMED_OUT","signal":"terminated"`) ||
		!strings.Contains(lines[1], `"jobId":"rt","executionNumber":2,"status":"SUCCEEDED","exitCode":0`) {
		t.Errorf("a retry after the time-out:\n%s", r)
	}
	if ran("thing-2", 1) || !ran("thing-2", 2) {
		t.Errorf("thing-2: execution 1 ran to its end: %v; execution 2 ran: %v", ran("thing-2", 1), ran("thing-2", 2))
	}
	if status, _ := execution(t, emu, "rt", "thing-2"); status != "SUCCEEDED" {
		t.Errorf("thing-2 execution 2: %s", status)
	}
}

// TestRunReportsAnEndItDidNotSee: when the execution times out and no
// notification says so (here an IoT policy keeps notify and notify-next
// from the runner), the final update is refused, and the runner reports
// the status the refusal carries, not the handler's outcome. So too when
// the execution was retried: the update names its executionNumber, not
// the retry's.
func TestRunReportsAnEndItDidNotSee(t *testing.T) {
	policy := filepath.Join(t.TempDir(), "policy.json")
	testutil.WriteFile(t, policy, `{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "iot:*", "Resource": "*"},
  {"Effect": "Deny", "Action": "iot:Receive", "Resource": "arn:aws:iot:us-east-1:123456789012:topic/$aws/things/thing-1/jobs/notify*"}]}`)
	emu := testutil.StartEmulator(t, testutil.WithMinute(200*time.Millisecond),
		testutil.WithConfig(func(c *emulator.Config) { c.Policies = []string{policy} }))
	testutil.CreateJob(t, emu, "late", "thing-1", `{}`)
	r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "sleep 0.6", "--once", "--step-timeout", "1")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stdout, `"jobId":"late","executionNumber":1,"status":"TIMED_OUT"`) ||
		!strings.Contains(r.Stderr, "job late: the execution ended TIMED_OUT before the handler's outcome was reported") {
		t.Errorf("a time-out the runner did not see:\n%s", r)
	}
	if status, _ := execution(t, emu, "late", "thing-1"); status != "TIMED_OUT" {
		t.Errorf("late: %s", status)
	}

	testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "create-job", "retried", "-t", "thing-1", "--document", `{}`,
		"--in-progress-timeout", "1", "--retry", "TIMED_OUT:1", "--emulator", emu.HTTPURL), 0)
	r = iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "sleep 1", "--once")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stdout, `"jobId":"retried","executionNumber":1,"status":"TIMED_OUT"`) ||
		!strings.Contains(r.Stderr, "job retried: the execution ended TIMED_OUT before the handler's outcome was reported") {
		t.Errorf("a time-out and retry the runner did not see:\n%s", r)
	}
	if status, _ := execution(t, emu, "retried", "thing-1"); status != "QUEUED" {
		t.Errorf("the retry: %s", status)
	}
}

// TestRunReportsARefusedOutcome: a final update the service refuses for
// an execution that has not ended (here another client updates it under
// the handler, so that expectedVersion no longer matches) is reported with
// the status the service has, not the handler's SUCCEEDED, and --once
// exits 1.
func TestRunReportsARefusedOutcome(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "raced", "thing-1", `{}`)
	h := handler(t, `"`+iotjobs.Path+`" update raced -t thing-1 -e `+emu.Endpoint+` --client-id other --status IN_PROGRESS --status-detail by=other >/dev/null
`)
	r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", h, "--once")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stdout, `"jobId":"raced","executionNumber":1,"status":"IN_PROGRESS","exitCode":0`) ||
		!strings.Contains(r.Stdout, `"error":"the final update failed: rejected: VersionMismatch`) {
		t.Errorf("a refused outcome:\n%s", r)
	}
	if status, details := execution(t, emu, "raced", "thing-1"); status != "IN_PROGRESS" || details["by"] != "other" {
		t.Errorf("raced: %s %v", status, details)
	}
}

// deviceClientDir writes handlers into a fresh directory (mode 700), each
// with mode 700 unless named in loose (mode 770, group-writable).
func deviceClientDir(t *testing.T, handlers map[string]string, loose ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "jobs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range handlers {
		mode := os.FileMode(0o700)
		if slices.Contains(loose, name) {
			mode = 0o770
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunDeviceClientDocuments: schema 1.0 documents run step by step: a
// failing step with ignoreStepFailure goes on and the final step runs; a
// failing step without it stops the job before the final step; runCommand
// needs --allow; a group-writable handler is refused; --dry-run shows the
// plan and starts nothing.
func TestRunDeviceClientDocuments(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "final-ran")
	dir := deviceClientDir(t, map[string]string{
		"greet.sh":   `echo "user=$1 args=$2,$3"`,
		"fail.sh":    `echo "broken" >&2; exit 2`,
		"cleanup.sh": `touch ` + marker,
		"loose.sh":   `true`,
	}, "loose.sh")
	step := func(name, typ, input string, ignore bool) string {
		ign := ""
		if ignore {
			ign = `, "ignoreStepFailure": "true"`
		}
		return `{"action": {"name": "` + name + `", "type": "` + typ + `", "runAsUser": "ops"` + ign + `, "input": ` + input + `}}`
	}
	doc := func(final bool, steps ...string) string {
		d := `{"version": "1.0", "includeStdOut": true, "steps": [` + strings.Join(steps, ",") + `]`
		if final {
			d += `, "finalStep": ` + step("cleanup", "runHandler", `{"handler": "cleanup.sh"}`, false)
		}
		return d + "}"
	}
	greet := step("greet", "runHandler", `{"handler": "greet.sh", "args": ["a", "b"], "path": "default"}`, false)
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "ignored", "thing-1", doc(true, greet, step("fail", "runHandler", `{"handler": "fail.sh"}`, true)))
	run := func(args ...string) testutil.Result {
		return iotjobs.Run(t, nil, append([]string{"run", "-t", "thing-1", "-e", emu.Endpoint, "--handler-dir", dir, "--once"}, args...)...)
	}

	r := run("--dry-run")
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stdout, "job ignored (execution 1, QUEUED) would run:\n  greet: "+filepath.Join(dir, "greet.sh")+" ops a b\n  fail: "+filepath.Join(dir, "fail.sh")+" ops (its failure ignored)\n  cleanup: ") {
		t.Errorf("dry run:\n%s", r)
	}
	if status, _ := execution(t, emu, "ignored", "thing-1"); status != "QUEUED" {
		t.Errorf("--dry-run started the job: %s", status)
	}

	testutil.WantExit(t, run(), 0)
	status, details := execution(t, emu, "ignored", "thing-1")
	if _, err := os.Stat(marker); status != "SUCCEEDED" || err != nil || details["exitCode"] != "0" {
		t.Errorf("ignored failure: %s %v (final step ran: %v)", status, details, err == nil)
	}

	os.Remove(marker)
	testutil.CreateJob(t, emu, "stops", "thing-1", doc(true, step("fail", "runHandler", `{"handler": "fail.sh"}`, false), greet))
	testutil.WantExit(t, run(), 1)
	status, details = execution(t, emu, "stops", "thing-1")
	if _, err := os.Stat(marker); status != "FAILED" || err == nil || details["reason"] != "step fail: exited with status 2" || details["stderr"] != "broken" || details["exitCode"] != "2" {
		t.Errorf("failed step: %s %v (final step ran: %v)", status, details, err == nil)
	}

	testutil.CreateJob(t, emu, "command", "thing-1", doc(false, step("say", "runCommand", `{"command": "echo,one\\, two"}`, false)))
	testutil.WantExit(t, run(), 1)
	if status, details := execution(t, emu, "command", "thing-1"); status != "FAILED" || details["reason"] != `step say: runCommand "echo" is not on the --allow list` {
		t.Errorf("runCommand not allowed: %s %v", status, details)
	}
	testutil.CreateJob(t, emu, "command-2", "thing-1", doc(false, step("say", "runCommand", `{"command": "echo,one\\, two"}`, false)))
	testutil.WantExit(t, run("--allow", "echo"), 0)
	if status, details := execution(t, emu, "command-2", "thing-1"); status != "SUCCEEDED" || details["stdout"] != "one, two" {
		t.Errorf("runCommand allowed: %s %v", status, details)
	}

	testutil.CreateJob(t, emu, "loose", "thing-1", doc(false, step("loose", "runHandler", `{"handler": "loose.sh"}`, false)))
	testutil.WantExit(t, run(), 1)
	if status, details := execution(t, emu, "loose", "thing-1"); status != "FAILED" || !strings.Contains(details["reason"], "loose.sh is writable by group or others (mode -rwxrwx---): refused") {
		t.Errorf("group-writable handler: %s %v", status, details)
	}

	// World-writable is refused as group-writable is.
	if err := os.Chmod(filepath.Join(dir, "loose.sh"), 0o707); err != nil {
		t.Fatal(err)
	}
	testutil.CreateJob(t, emu, "loose-2", "thing-1", doc(false, step("loose", "runHandler", `{"handler": "loose.sh"}`, false)))
	testutil.WantExit(t, run(), 1)
	if status, details := execution(t, emu, "loose-2", "thing-1"); status != "FAILED" || !strings.Contains(details["reason"], "loose.sh is writable by group or others (mode -rwx---rwx): refused") {
		t.Errorf("world-writable handler: %s %v", status, details)
	}

	// allowStdErr: a step that writes more stderr lines than it allows
	// fails, though it exits 0; within the allowance it passes.
	chatty := func(allowed int) string {
		return `{"action": {"name": "chatty", "type": "runHandler", "allowStdErr": ` + strconv.Itoa(allowed) + `, "input": {"handler": "chatty.sh"}}}`
	}
	testutil.WriteFile(t, filepath.Join(dir, "chatty.sh"), "#!/bin/sh\necho one >&2\necho two >&2\n")
	if err := os.Chmod(filepath.Join(dir, "chatty.sh"), 0o700); err != nil {
		t.Fatal(err)
	}
	testutil.CreateJob(t, emu, "chatty-1", "thing-1", doc(false, chatty(1)))
	testutil.WantExit(t, run(), 1)
	if status, details := execution(t, emu, "chatty-1", "thing-1"); status != "FAILED" || !strings.Contains(details["reason"], "printed 2 lines on stderr, more than the 1 allowed") {
		t.Errorf("allowStdErr 1, two lines: %s %v", status, details)
	}
	testutil.CreateJob(t, emu, "chatty-2", "thing-1", doc(false, chatty(2)))
	testutil.WantExit(t, run(), 0)
	if status, details := execution(t, emu, "chatty-2", "thing-1"); status != "SUCCEEDED" {
		t.Errorf("allowStdErr 2, two lines: %s %v", status, details)
	}

	// A document that is no Device Client document, with no --exec to run
	// it: FAILED, and the execution says why.
	testutil.CreateJob(t, emu, "plain", "thing-1", `{"operation":"reboot"}`)
	testutil.WantExit(t, run(), 1)
	if status, details := execution(t, emu, "plain", "thing-1"); status != "FAILED" || !strings.Contains(details["reason"], `not a Device Client job document ("version": "1.0" with steps), and no --exec handler for it`) {
		t.Errorf("a plain document without --exec: %s %v", status, details)
	}
}

// TestRunSimulatedFleet: 200 things in one process, each on its own
// connection, simulated with a mix of outcomes; hanging ones time out by
// their step timer (one emulated minute is 200 ms here). Every thing
// reports once, the statuses follow the mix (loose bounds: it is drawn at
// random), and the service agrees with each line.
func TestRunSimulatedFleet(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMinute(200*time.Millisecond))
	var things []string
	for i := range 200 {
		things = append(things, fmt.Sprintf("sim-%03d", i))
	}
	if _, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: "rollout", Targets: things, Document: `{}`}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "fleet.txt")
	testutil.WriteFile(t, file, strings.Join(things, "\n")+"\n")
	r := iotjobs.Run(t, nil, "run", "--things", file, "-e", emu.Endpoint, "--once", "--step-timeout", "1",
		"--simulate", "ok=0.7,fail=0.2,hang=0.1,duration=10ms..50ms")
	testutil.WantExit(t, r, 1) // some failed
	counts := map[string]int{}
	seen := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var res struct{ Thing, JobID, Status string }
		if err := json.Unmarshal([]byte(line), &res); err != nil || res.JobID != "rollout" {
			t.Fatalf("not a result line: %q", line)
		}
		if _, dup := seen[res.Thing]; dup {
			t.Fatalf("%s reported twice", res.Thing)
		}
		seen[res.Thing] = res.Status
		counts[res.Status]++
	}
	if len(seen) != 200 || counts["SUCCEEDED"] < 100 || counts["FAILED"] < 15 || counts["TIMED_OUT"] < 5 ||
		counts["SUCCEEDED"]+counts["FAILED"]+counts["TIMED_OUT"] != 200 {
		t.Errorf("outcomes %v over %d things", counts, len(seen))
	}
	for _, thing := range []string{things[0], things[99], things[199]} {
		if status, _ := execution(t, emu, "rollout", thing); status != seen[thing] {
			t.Errorf("%s: the service says %s, the runner %s", thing, status, seen[thing])
		}
	}
}

func TestRunSimulateBadInput(t *testing.T) {
	for _, tt := range []struct{ spec, want string }{
		{"ok", `"ok": want KEY=VALUE`},
		{"ok=x", "ok=x: want a weight of 0 or more"},
		{"ok=1,duration=5s..1s", "duration=5s..1s: want a DURATION or MIN..MAX"},
		{"ok=0", "give some weight to ok, fail or hang"},
		{"crash=1", `"crash": the keys are ok, fail, hang and duration`},
	} {
		r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", "mqtt://127.0.0.1:1", "--simulate", tt.spec)
		if r.ExitCode != 2 || !strings.Contains(r.Stderr, tt.want) {
			t.Errorf("--simulate %s: want exit 2 and %q:\n%s", tt.spec, tt.want, r)
		}
	}
	r := iotjobs.Run(t, nil, "run", "-t", "a,b", "-e", "mqtt://127.0.0.1:1", "--simulate", "ok=1", "--dry-run")
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "--dry-run shows one thing's next job") {
		t.Errorf("--dry-run over many things:\n%s", r)
	}
}

// finalTable reads the table a fleet run left at the terminal, drawn
// after the last erase of the one before it (and after the lines written
// above it meanwhile): each row a label and its count.
func finalTable(t *testing.T, screen string) map[string]int {
	t.Helper()
	erase := strings.LastIndex(screen, "\033[J")
	if erase < 0 {
		t.Fatalf("the table was never redrawn in place:\n%q", screen)
	}
	last := screen[erase:]
	last = last[max(0, strings.LastIndex(last, "THINGS ")):]
	table := map[string]int{}
	for _, row := range strings.Split(strings.TrimSpace(last), "\r\n") {
		fields := strings.Fields(row)
		if len(fields) < 2 {
			t.Fatalf("not a row of the table: %q in\n%q", row, screen)
		}
		n, err := strconv.Atoi(fields[1])
		if err != nil {
			t.Fatalf("not a row of the table: %q in\n%q", row, screen)
		}
		table[fields[0]] = n
	}
	return table
}

// TestRunFleetTable: many things at a terminal show a table redrawn in
// place, not a line per execution, and the table it leaves counts what
// the service counts; retries are counted apart. With stdout piped, the
// JSON lines are as they are without a terminal: one per execution.
func TestRunFleetTable(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMinute(200*time.Millisecond))
	var things []string
	for i := range 20 {
		things = append(things, fmt.Sprintf("sim-%02d", i))
	}
	file := filepath.Join(t.TempDir(), "fleet.txt")
	testutil.WriteFile(t, file, strings.Join(things, "\n")+"\n")
	run := func(job string, stdoutTTY bool, args ...string) (testutil.Result, map[string]int, iotapi.JobProcessDetails) {
		t.Helper()
		r := testutil.RunTerminal(t, iotjobs.Path, []string{"TERM=xterm", "NO_COLOR=1"}, stdoutTTY,
			append([]string{"run", "-e", emu.Endpoint}, args...)...)
		table := finalTable(t, r.Stderr)
		if noise := regexp.MustCompile(`running job|waiting for a job for|job ` + job + `: [A-Z_]+ in `).FindString(r.Stderr); noise != "" {
			t.Errorf("the terminal shows %q:\n%s", noise, r.Stderr)
		}
		j, err := emu.Engine().DescribeJob(job)
		if err != nil {
			t.Fatal(err)
		}
		return r, table, j.JobProcessDetails
	}
	// The statuses the service counts, as the table shows them.
	counted := func(things int, d iotapi.JobProcessDetails, extra map[string]int) map[string]int {
		want := map[string]int{"THINGS": things, "RUNNING": 0}
		for status, n := range map[string]int{"SUCCEEDED": d.NumberOfSucceededThings, "FAILED": d.NumberOfFailedThings,
			"TIMED_OUT": d.NumberOfTimedOutThings, "QUEUED": d.NumberOfQueuedThings, "IN_PROGRESS": d.NumberOfInProgressThings} {
			if n > 0 {
				want[status] = n
			}
		}
		maps.Copy(want, extra)
		return want
	}

	if _, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: "rollout", Targets: things, Document: `{}`}); err != nil {
		t.Fatal(err)
	}
	r, table, d := run("rollout", true, "--things", file, "--once", "--step-timeout", "1", "--simulate", "ok=0.6,fail=0.3,hang=0.1,duration=10ms..150ms")
	if want := counted(20, d, nil); !maps.Equal(table, want) || d.NumberOfQueuedThings+d.NumberOfInProgressThings > 0 {
		t.Errorf("the table %v, the service %v\n%q", table, want, r.Stderr)
	}
	if strings.Count(r.Stderr, "\033[J") < 2 {
		t.Errorf("the table was not redrawn as the executions went:\n%q", r.Stderr)
	}
	if wantExit := min(1, 20-table["SUCCEEDED"]); r.ExitCode != wantExit {
		t.Errorf("exit %d, want %d\n%q", r.ExitCode, wantExit, r.Stderr)
	}

	// Stdout piped, stderr at the terminal.
	if _, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: "piped", Targets: things, Document: `{}`}); err != nil {
		t.Fatal(err)
	}
	r, table, d = run("piped", false, "--things", file, "--once", "--step-timeout", "1", "--simulate", "ok=0.6,fail=0.3,hang=0.1,duration=10ms..150ms")
	if want := counted(20, d, nil); !maps.Equal(table, want) {
		t.Errorf("the table %v, the service %v\n%q", table, want, r.Stderr)
	}
	line := regexp.MustCompile(`^\{"thing":"sim-\d\d","jobId":"piped","executionNumber":1,"status":"(SUCCEEDED|FAILED|TIMED_OUT)",` +
		`("exitCode":[01]|"signal":"simulated stop"),"durationMs":\d+(,"error":"[a-z ]+")?\}$`)
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n") {
		var res struct{ Thing string }
		if !line.MatchString(l) || json.Unmarshal([]byte(l), &res) != nil || seen[res.Thing] {
			t.Fatalf("not one JSON line per execution: %q in\n%s", l, r.Stdout)
		}
		seen[res.Thing] = true
	}
	if len(seen) != 20 || strings.Contains(r.Stdout, "\033") {
		t.Errorf("%d things reported on stdout:\n%q", len(seen), r.Stdout)
	}

	// Every first attempt fails and is retried once: 10 executions
	// finished over 5 things, 5 of them retries.
	testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "create-job", "again", "-t", strings.Join(things[:5], ","), "--document", `{}`,
		"--retry", "FAILED:1", "--emulator", emu.HTTPURL), 0)
	r, table, d = run("again", true, "-t", strings.Join(things[:5], ","), "--max-jobs", "2", "--simulate", "fail=1,duration=10ms..50ms")
	testutil.WantExit(t, r, 0)
	if want := map[string]int{"THINGS": 5, "RUNNING": 0, "FAILED": 10, "RETRIED": 5}; !maps.Equal(table, want) || d.NumberOfFailedThings != 5 {
		t.Errorf("the table %v, want %v; the service counts %d things failed\n%q", table, want, d.NumberOfFailedThings, r.Stderr)
	}

	// A handler's output shows above the table, which is drawn again
	// below it.
	testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "create-job", "exec", "-t", strings.Join(things[:3], ","), "--document", `{}`,
		"--emulator", emu.HTTPURL), 0)
	r, table, d = run("exec", true, "-t", strings.Join(things[:3], ","), "--once", "--exec", `sleep 0.3; echo "said by $IOTJOBS_THING" >&2`)
	testutil.WantExit(t, r, 0)
	if want := map[string]int{"THINGS": 3, "RUNNING": 0, "SUCCEEDED": 3}; !maps.Equal(table, want) || d.NumberOfSucceededThings != 3 {
		t.Errorf("the table %v, want %v; the service counts %d things succeeded\n%q", table, want, d.NumberOfSucceededThings, r.Stderr)
	}
	said := regexp.MustCompile(`said by sim-0[0-2]\r\n`).FindAllStringIndex(r.Stderr, -1)
	for _, at := range said {
		if before := r.Stderr[:at[0]]; !strings.HasSuffix(before, "\r\n") && !strings.HasSuffix(before, "\033[J") {
			t.Errorf("a handler's line does not start a line:\n%q", r.Stderr)
		}
	}
	if len(said) != 3 || said[0][0] < strings.Index(r.Stderr, "THINGS ") || said[2][1] > strings.LastIndex(r.Stderr, "THINGS ") {
		t.Errorf("the handlers' lines are not between the first table and the last:\n%q", r.Stderr)
	}
}

// TestRunRenewsTheStepTimer: a handler that outlives its step timer keeps
// its execution, as run renews the timer halfway through, in the
// service's minute (--minute, the emulator's 300 ms here), with
// IN_PROGRESS updates that each take the execution to its next version.
func TestRunRenewsTheStepTimer(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithMinute(300*time.Millisecond))
	testutil.CreateJob(t, emu, "long", "thing-1", `{}`)
	// A step timer of two emulated minutes (600 ms), renewed every 300 ms:
	// 300 ms of slack for a loaded machine.
	r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--once", "--step-timeout", "2", "--minute", "300ms",
		"--exec", "sleep 2")
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stdout, `"jobId":"long","executionNumber":1,"status":"SUCCEEDED","exitCode":0`) {
		t.Errorf("a handler of five emulated minutes:\n%s", r)
	}
	x, err := emu.Engine().DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: "long", ThingName: "thing-1"})
	if err != nil {
		t.Fatal(err)
	}
	// Version 1 queued, 2 started, then one per renewal (at least 3 in 2 s,
	// to beat a timer of 600 ms; about 6 at one every 300 ms), and the last
	// for SUCCEEDED.
	if x.Status != "SUCCEEDED" || x.VersionNumber < 2+3+1 {
		t.Errorf("the execution is %s at version %d", x.Status, x.VersionNumber)
	}

	// A simulated device that hangs renews nothing, --minute or not: its
	// step timer runs out.
	testutil.CreateJob(t, emu, "stuck", "thing-2", `{}`)
	r = iotjobs.Run(t, nil, "run", "-t", "thing-2", "-e", emu.Endpoint, "--once", "--step-timeout", "1", "--minute", "300ms",
		"--simulate", "hang=1")
	if !strings.Contains(r.Stdout, `"thing":"thing-2","jobId":"stuck","executionNumber":1,"status":"TIMED_OUT"`) {
		t.Errorf("a hanging simulated device:\n%s", r)
	}
}
