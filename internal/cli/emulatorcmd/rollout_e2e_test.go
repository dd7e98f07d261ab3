package emulatorcmd_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// create-job's rollout, abort, retry and group flags, and describe-job
// --watch, as the real binary against an emulator.

// TestCreateJobRolloutFlagsRefused: bad input is a usage error naming the
// flag with an example, and nothing reaches the emulator.
func TestCreateJobRolloutFlagsRefused(t *testing.T) {
	emu := testutil.StartEmulator(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-per-minute", "0"}, `invalid --max-per-minute "0": jobExecutionsRolloutConfig.maximumPerMinute must be between 1 and 1000`},
		{[]string{"--max-per-minute", "1001"}, `invalid --max-per-minute "1001"`},
		{[]string{"--exponential-rate", "base=10,factor=2"}, `invalid --exponential-rate "base=10,factor=2": exponentialRate.rateIncreaseCriteria needs exactly one of`},
		{[]string{"--exponential-rate", "base=10,factor=2,notified=5,succeeded=5"}, "needs exactly one of numberOfNotifiedThings and numberOfSucceededThings"},
		{[]string{"--exponential-rate", "base=10,factor=1.25,notified=5"}, "incrementFactor must be between 1.1 and 5 with at most one digit"},
		{[]string{"--exponential-rate", "base=ten,factor=2,notified=5"}, `base="ten" is not a number`},
		{[]string{"--exponential-rate", "factor=2,notified=5"}, "base= is missing"},
		{[]string{"--exponential-rate", "base=1,rate=2"}, `"rate=2" is not one of base=N, factor=F, notified=M and succeeded=M`},
		{[]string{"--abort", "FAILED:20"}, `invalid --abort "FAILED:20": want TYPE:PERCENT:MIN; e.g. --abort FAILED:20:10`},
		{[]string{"--abort", "FAILED:120:10"}, "thresholdPercentage must be between 0 and 100"},
		{[]string{"--abort", "FAILED:20:0"}, "minNumberOfExecutedThings must be at least 1"},
		{[]string{"--abort", "SUCCEEDED:20:10"}, `failureType must be FAILED, REJECTED, TIMED_OUT or ALL, got "SUCCEEDED"`},
		{[]string{"--abort", "FAILED:20:10", "--abort", "failed:50:5"}, "failureType FAILED is given twice"},
		{[]string{"--retry", "FAILED"}, `invalid --retry "FAILED": want TYPE:N; e.g. --retry FAILED:2`},
		{[]string{"--retry", "REJECTED:1"}, `failureType must be FAILED, TIMED_OUT or ALL, got "REJECTED"`},
		{[]string{"--retry", "FAILED:6,TIMED_OUT:5"}, "allows 11 retries in all; the limit is 10"},
		{[]string{"--group", "no/slash"}, `invalid --group: thing group name "no/slash" must be 1 to 128 of`},
		{[]string{"--target", "arn:aws:iot:us-east-1:123456789012:thinggroup/"}, "invalid --target"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := ctl(t, emu, append([]string{"create-job", "j1", "-t", "dev-1", "--document", "{}"}, tc.args...)...)
			testutil.WantExit(t, r, 2)
			if !strings.Contains(r.Stderr, tc.want) || !strings.Contains(r.Stderr, "e.g. ") {
				t.Errorf("stderr %q, want %q and an example", r.Stderr, tc.want)
			}
		})
	}
	r := ctl(t, emu, "create-job", "j1", "--document", "{}")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, "at least one --target THING or --group NAME") {
		t.Errorf("without a target: %s", r.Stderr)
	}
	if list := testutil.Reply(t, ctl(t, emu, "list-jobs")); len(list["jobs"].([]any)) != 0 {
		t.Errorf("a refused create-job created a job: %v", list)
	}
}

// TestCreateJobSendsRolloutConfigs reads the request create-job sends (its
// -v trace): the flags become CreateJob's members.
func TestCreateJobSendsRolloutConfigs(t *testing.T) {
	emu := testutil.StartEmulator(t)
	r := ctl(t, emu, "create-job", "fw-2", "-t", "dev-1", "--group", "fleet,lab", "--continuous", "--document", "{}",
		"--max-per-minute", "200", "--exponential-rate", "base=10,factor=1.5,succeeded=20",
		"--abort", "FAILED:20:10", "--abort", "timed_out:12.5:4", "--retry", "FAILED:2,TIMED_OUT:1", "-v")
	var sent string
	for line := range strings.SplitSeq(r.Stderr, "\n") {
		if rest, ok := strings.CutPrefix(line, "> PUT "+emu.HTTPURL+"/jobs/fw-2 "); ok {
			sent = rest
		}
	}
	if sent == "" {
		t.Fatalf("no PUT traced\n%s", r)
	}
	var got, want map[string]any
	if err := json.Unmarshal([]byte(sent), &got); err != nil {
		t.Fatalf("sent %s: %v", sent, err)
	}
	_ = json.Unmarshal([]byte(`{
		"targets": ["dev-1", "`+iotapi.ThingGroupARN("fleet")+`", "`+iotapi.ThingGroupARN("lab")+`"],
		"document": "{}",
		"targetSelection": "CONTINUOUS",
		"jobExecutionsRolloutConfig": {"maximumPerMinute": 200,
			"exponentialRate": {"baseRatePerMinute": 10, "incrementFactor": 1.5, "rateIncreaseCriteria": {"numberOfSucceededThings": 20}}},
		"abortConfig": {"criteriaList": [
			{"failureType": "FAILED", "action": "CANCEL", "thresholdPercentage": 20, "minNumberOfExecutedThings": 10},
			{"failureType": "TIMED_OUT", "action": "CANCEL", "thresholdPercentage": 12.5, "minNumberOfExecutedThings": 4}]},
		"jobExecutionsRetryConfig": {"criteriaList": [
			{"failureType": "FAILED", "numberOfRetries": 2}, {"failureType": "TIMED_OUT", "numberOfRetries": 1}]}
	}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("create-job sent\n%s\nwant\n%v", sent, want)
	}
}

// TestCreateJobConfigsRoundTrip: the emulator keeps what create-job sent,
// and describe-job shows it. Needs the rollout engine.
func TestCreateJobConfigsRoundTrip(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.WantExit(t, ctl(t, emu, "create-job", "fw-3", "-t", "dev-1,dev-2", "--document", "{}",
		"--max-per-minute", "100", "--abort", "ALL:50:2", "--retry", "FAILED:3"), 0)
	job := testutil.Reply(t, ctl(t, emu, "describe-job", "fw-3"))
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"job", "targetSelection"}, "SNAPSHOT"},
		{[]string{"job", "jobExecutionsRolloutConfig", "maximumPerMinute"}, 100.0},
	} {
		if got := testutil.Path(job, c.path...); got != c.want {
			t.Errorf("%s = %v, want %v\n%v", strings.Join(c.path, "."), got, c.want, job)
		}
	}
	abort, _ := testutil.Path(job, "job", "abortConfig", "criteriaList").([]any)
	retry, _ := testutil.Path(job, "job", "jobExecutionsRetryConfig", "criteriaList").([]any)
	if len(abort) != 1 || len(retry) != 1 ||
		!reflect.DeepEqual(abort[0], map[string]any{"failureType": "ALL", "action": "CANCEL", "thresholdPercentage": 50.0, "minNumberOfExecutedThings": 2.0}) ||
		!reflect.DeepEqual(retry[0], map[string]any{"failureType": "FAILED", "numberOfRetries": 3.0}) {
		t.Errorf("describe-job shows abort %v, retry %v", abort, retry)
	}
	// For people: the configurations in words, groups by name.
	testutil.WantExit(t, ctl(t, emu, "create-job", "fw-4", "--group", "lab", "-t", "dev-9", "--continuous", "--document", "{}",
		"--exponential-rate", "base=10,factor=2.5,succeeded=20", "--max-per-minute", "80"), 14) // no group lab yet
	if _, err := emu.Engine().CreateThingGroup(iotapi.CreateThingGroupInput{ThingGroupName: "lab"}); err != nil {
		t.Fatal(err)
	}
	testutil.WantExit(t, ctl(t, emu, "create-job", "fw-4", "--group", "lab", "-t", "dev-9", "--continuous", "--document", "{}",
		"--exponential-rate", "base=10,factor=2.5,succeeded=20", "--max-per-minute", "80"), 0)
	// list-jobs shows and filters the target selection.
	r := ctl(t, emu, "list-jobs", "--target-selection", "continuous")
	testutil.WantExit(t, r, 0)
	if jobs := testutil.Path(testutil.Reply(t, r), "jobs").([]any); len(jobs) != 1 || testutil.Path(jobs[0].(map[string]any), "jobId") != "fw-4" {
		t.Errorf("list-jobs --target-selection continuous: %v", jobs)
	}
	r = ctl(t, emu, "list-jobs", "-o", "pretty", "--no-color")
	if !regexp.MustCompile(`(?m)^fw-3 +IN_PROGRESS +SNAPSHOT `).MatchString(r.Stdout) || !regexp.MustCompile(`(?m)^fw-4 +IN_PROGRESS +CONTINUOUS `).MatchString(r.Stdout) {
		t.Errorf("list-jobs table:\n%s", r.Stdout)
	}
	r = ctl(t, emu, "list-jobs", "--target-selection", "sometimes")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, `invalid --target-selection "sometimes": want SNAPSHOT or CONTINUOUS`) {
		t.Errorf("bad --target-selection: %s", r.Stderr)
	}
	for id, want := range map[string][]string{
		"fw-3": {"SELECTION   SNAPSHOT", "ROLLOUT     at most 100 per minute", "RETRIES     FAILED up to 3 times", "ABORT       ALL at 50% of things notified, once 2 are"},
		"fw-4": {"TARGETS     dev-9, group lab", "SELECTION   CONTINUOUS", "ROLLOUT     from 10 per minute, x2.5 every 20 things succeeded, at most 80"},
	} {
		r = ctl(t, emu, "describe-job", id, "-o", "pretty", "--no-color")
		testutil.WantExit(t, r, 0)
		for _, line := range want {
			if !strings.Contains(r.Stdout, line) {
				t.Errorf("describe-job %s does not say %q:\n%s", id, line, r.Stdout)
			}
		}
	}
}

func TestDescribeJobWatchFlagsRefused(t *testing.T) {
	emu := testutil.StartEmulator(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--watch", "--document"}, "--watch and --document exclude each other"},
		{[]string{"--interval", "1s"}, "--interval is for --watch only; e.g. describe-job JOB-ID --watch --interval 500ms"},
		{[]string{"--watch", "--interval", "10ms"}, "invalid --interval 10ms: want a duration of at least 100ms, e.g. --interval 500ms"},
		{[]string{"--watch", "--interval", "soon"}, `invalid --interval "soon": want a duration`},
	} {
		r := ctl(t, emu, append([]string{"describe-job", "j1"}, tc.args...)...)
		testutil.WantExit(t, r, 2)
		if !strings.Contains(r.Stderr, tc.want) {
			t.Errorf("%v: stderr %q, want %q", tc.args, r.Stderr, tc.want)
		}
	}
}

// watchLine is one line of describe-job --watch, piped.
type watchLine struct {
	At      float64             `json:"at"`
	Job     iotapi.Job          `json:"job"`
	Rollout iotapi.RolloutState `json:"rollout"`
}

func readWatchLine(t *testing.T, p *testutil.Process) watchLine {
	t.Helper()
	line := p.Line(t, 10*time.Second)
	var l watchLine
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.At == 0 || l.Job.JobID == "" || l.Rollout.JobID == "" {
		t.Fatalf("not a watch line (%v): %s", err, line)
	}
	return l
}

// TestDescribeJobWatchPiped: one line per change while two things finish
// the job, none while nothing changes, exit 0 once the job is COMPLETED.
// Needs the rollout route.
func TestDescribeJobWatchPiped(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.WantExit(t, ctl(t, emu, "create-job", "j1", "-t", "dev-1,dev-2", "--document", "{}"), 0)
	finish := func(thing, status string) {
		t.Helper()
		testutil.WantExit(t, iotjobs.Run(t, nil, "update", "j1", "-t", thing, "-e", emu.Endpoint, "--status", status), 0)
	}
	p := testutil.StartBinary(t, iotjobs.Path, []string{"IOTJOBS_EMULATOR=" + emu.HTTPURL}, "emulator", "describe-job", "j1", "--watch", "--interval", "100ms")

	first := readWatchLine(t, p)
	if first.Job.Status != iotapi.JobInProgress || first.Job.JobProcessDetails.NumberOfQueuedThings != 2 || first.Rollout.Notified != 2 || first.Rollout.Waiting != 0 {
		t.Errorf("first line: %+v", first)
	}
	p.NoLine(t, 400*time.Millisecond) // four polls that saw nothing new

	finish("dev-1", "SUCCEEDED")
	l := readWatchLine(t, p)
	if d := l.Job.JobProcessDetails; l.Job.Status != iotapi.JobInProgress || d.NumberOfSucceededThings != 1 || d.NumberOfQueuedThings != 1 {
		t.Errorf("after dev-1 succeeded: %+v", l)
	}
	finish("dev-2", "FAILED")
	l = readWatchLine(t, p)
	if d := l.Job.JobProcessDetails; l.Job.Status != iotapi.JobCompleted || d.NumberOfSucceededThings != 1 || d.NumberOfFailedThings != 1 || l.At < first.At {
		t.Errorf("last line: %+v", l)
	}
	r := p.Wait(t)
	testutil.WantExit(t, r, 0)
	if r.Stderr != "" {
		t.Errorf("stderr: %s", r.Stderr)
	}
}

// TestDescribeJobWatchInterrupted: Ctrl-C ends a watch before the job does,
// exit 130 as for any command interrupted. Needs the rollout route.
func TestDescribeJobWatchInterrupted(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.WantExit(t, ctl(t, emu, "create-job", "j1", "-t", "dev-1", "--document", "{}"), 0)
	p := testutil.StartBinary(t, iotjobs.Path, []string{"IOTJOBS_EMULATOR=" + emu.HTTPURL}, "emulator", "describe-job", "j1", "--watch")
	readWatchLine(t, p)
	p.Signal(t, syscall.SIGINT)
	r := p.Wait(t)
	testutil.WantExit(t, r, 130)
	if strings.TrimSpace(r.Stderr) != "interrupted" {
		t.Errorf("stderr: %q", r.Stderr)
	}
}

// TestDescribeJobWatchUnknownJob: no such job is the error DescribeJob
// gives, at once.
func TestDescribeJobWatchUnknownJob(t *testing.T) {
	emu := testutil.StartEmulator(t)
	r := ctl(t, emu, "describe-job", "nope", "--watch")
	testutil.WantExit(t, r, 14)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "ResourceNotFoundException") {
		t.Errorf("watch of no job:\n%s", r)
	}
}
