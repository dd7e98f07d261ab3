package emulatorcmd_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// The control-plane verbs run as the real binary against an emulator in
// the test process, found through IOTJOBS_EMULATOR or --emulator.

// ctl runs `iotjobs emulator VERB ...` against emu.
func ctl(t *testing.T, emu *testutil.Emulator, args ...string) testutil.Result {
	t.Helper()
	return iotjobs.Run(t, []string{"IOTJOBS_EMULATOR=" + emu.HTTPURL}, append([]string{"emulator"}, args...)...)
}

// wantQuiet checks a verb without output: exit 0, nothing on stdout or
// stderr (neither is a terminal).
func wantQuiet(t *testing.T, r testutil.Result) {
	t.Helper()
	testutil.WantExit(t, r, 0)
	if r.Stdout != "" || r.Stderr != "" {
		t.Fatalf("want no output\n%s", r)
	}
}

func TestControlVerbsWalkthrough(t *testing.T) {
	emu := testutil.StartEmulator(t)
	doc := filepath.Join(t.TempDir(), "job.json")
	testutil.WriteFile(t, doc, "{\n  \"operation\": \"install\",\n  \"version\": \"1.2.3\"\n}\n")

	r := ctl(t, emu, "create-job", "fw-1", "--target", "dev-1", "-t", "arn:aws:iot:us-east-1:123456789012:thing/dev-2",
		"--document", doc, "--description", "firmware 1.2.3", "--in-progress-timeout", "30")
	testutil.WantExit(t, r, 0)
	created := testutil.Reply(t, r)
	if created["jobId"] != "fw-1" || created["jobArn"] != iotapi.JobARN("fw-1") || created["description"] != "firmware 1.2.3" {
		t.Errorf("create-job printed %v", created)
	}
	if r.Stderr != "" {
		t.Errorf("stderr: %s", r.Stderr)
	}
	testutil.WantExit(t, ctl(t, emu, "create-job", "reboot", "-t", "dev-1", "--document", `{"operation":"reboot"}`), 0)

	job := testutil.Reply(t, ctl(t, emu, "describe-job", "fw-1"))
	if testutil.Path(job, "job", "status") != "IN_PROGRESS" || testutil.Path(job, "job", "jobProcessDetails", "numberOfQueuedThings") != 2.0 ||
		testutil.Path(job, "job", "timeoutConfig", "inProgressTimeoutInMinutes") != 30.0 {
		t.Errorf("describe-job printed %v", job)
	}
	document := testutil.Reply(t, ctl(t, emu, "describe-job", "fw-1", "--document"))
	if document["document"] != `{
  "operation": "install",
  "version": "1.2.3"
}` {
		t.Errorf("describe-job --document printed %q, want the file without its trailing newline", document["document"])
	}

	list := testutil.Reply(t, ctl(t, emu, "list-jobs", "--max-results", "1"))
	jobs, _ := list["jobs"].([]any)
	if len(jobs) != 1 || testutil.Path(jobs[0].(map[string]any), "jobId") != "fw-1" || list["nextToken"] == nil {
		t.Errorf("list-jobs --max-results 1 printed %v", list)
	}
	next := testutil.Reply(t, ctl(t, emu, "list-jobs", "--next-token", list["nextToken"].(string), "--status", "IN_PROGRESS"))
	if jobs, _ := next["jobs"].([]any); len(jobs) != 1 || testutil.Path(jobs[0].(map[string]any), "jobId") != "reboot" {
		t.Errorf("second page printed %v", next)
	}

	forJob := testutil.Reply(t, ctl(t, emu, "list-executions", "--job", "fw-1"))
	if summaries, _ := forJob["executionSummaries"].([]any); len(summaries) != 2 {
		t.Errorf("list-executions --job printed %v", forJob)
	}
	forThing := testutil.Reply(t, ctl(t, emu, "list-executions", "--thing", "dev-1", "--status", "queued", "-o", "JSON"))
	if summaries, _ := forThing["executionSummaries"].([]any); len(summaries) != 2 {
		t.Errorf("list-executions --thing printed %v", forThing)
	}

	x := testutil.Reply(t, ctl(t, emu, "describe-execution", "fw-1", "--thing", "dev-1", "--execution-number", "1"))
	if testutil.Path(x, "execution", "status") != "QUEUED" || testutil.Path(x, "execution", "thingArn") != iotapi.ThingARN("dev-1") {
		t.Errorf("describe-execution printed %v", x)
	}

	wantQuiet(t, ctl(t, emu, "cancel-execution", "fw-1", "-t", "dev-1", "--expected-version", "1", "--status-detail", "by=test"))
	x = testutil.Reply(t, ctl(t, emu, "describe-execution", "fw-1", "-t", "dev-1"))
	if testutil.Path(x, "execution", "status") != "CANCELED" || testutil.Path(x, "execution", "statusDetails", "detailsMap", "by") != "test" {
		t.Errorf("after cancel-execution: %v", x)
	}
	wantQuiet(t, ctl(t, emu, "delete-execution", "fw-1", "-t", "dev-1", "--execution-number", "1"))

	canceled := testutil.Reply(t, ctl(t, emu, "cancel-job", "fw-1", "--force", "--comment", "bad build", "--reason-code", "BAD_BUILD"))
	if canceled["jobId"] != "fw-1" {
		t.Errorf("cancel-job printed %v", canceled)
	}
	job = testutil.Reply(t, ctl(t, emu, "describe-job", "fw-1"))
	if testutil.Path(job, "job", "status") != "CANCELED" || testutil.Path(job, "job", "comment") != "bad build" || testutil.Path(job, "job", "forceCanceled") != true {
		t.Errorf("after cancel-job: %v", job)
	}
	wantQuiet(t, ctl(t, emu, "delete-job", "fw-1"))
	wantQuiet(t, iotjobs.Run(t, nil, "emulator", "delete-job", "reboot", "--force", "--emulator", emu.HTTPURL))
	if list := testutil.Reply(t, ctl(t, emu, "list-jobs")); len(list["jobs"].([]any)) != 0 {
		t.Errorf("jobs left after deleting all: %v", list)
	}
}

// TestControlVerbsServiceErrorsExitCodes: each AWS exception has the exit
// code of the device reply that means the same (iotjobs --help).
func TestControlVerbsServiceErrorsExitCodes(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.WantExit(t, ctl(t, emu, "create-job", "j1", "-t", "dev-1", "--document", "{}"), 0)
	for _, tc := range []struct {
		name, want string
		exit       int
		args       []string
	}{
		{"unknown job", "ResourceNotFoundException: No job with id nope", 14, []string{"describe-job", "nope"}},
		{"unknown execution", "ResourceNotFoundException", 14, []string{"describe-execution", "j1", "-t", "dev-9"}},
		{"job exists", "ResourceAlreadyExistsException", 19, []string{"create-job", "j1", "-t", "dev-1", "--document", "{}"}},
		{"delete in progress", "InvalidStateTransitionException", 13, []string{"delete-job", "j1"}},
		{"version conflict", "VersionConflictException", 15, []string{"cancel-execution", "j1", "-t", "dev-1", "--expected-version", "9"}},
		{"bad reason code", "InvalidRequestException", 12, []string{"cancel-job", "j1", "--reason-code", "lower"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ctl(t, emu, tc.args...)
			testutil.WantExit(t, r, tc.exit)
			if r.Stdout != "" || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("want %q on stderr and nothing on stdout\n%s", tc.want, r)
			}
		})
	}
	// An answer that is not AWS-shaped is a plain failure.
	r := iotjobs.Run(t, nil, "emulator", "list-jobs", "--emulator", emu.HTTPURL+"/nowhere")
	testutil.WantExit(t, r, 1)
}

func TestControlVerbsBadInputExit2AndSendNothing(t *testing.T) {
	emu := testutil.StartEmulator(t)
	dead := "http://" + testutil.FreeAddr(t)
	missing := filepath.Join(t.TempDir(), "missing.json")
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"bad job id", "invalid job id", []string{"create-job", "bad.id", "-t", "dev-1", "--document", "{}"}},
		{"no target", "--target", []string{"create-job", "j1", "--document", "{}"}},
		{"bad target", "invalid --target", []string{"create-job", "j1", "-t", "dev/1", "--document", "{}"}},
		{"bad group target", "invalid --target", []string{"create-job", "j1", "-t", "arn:aws:iot:us-east-1:123456789012:thinggroup/a b", "--document", "{}"}},
		{"bad group", "invalid --group", []string{"create-job", "j1", "--group", "a b", "--document", "{}"}},
		{"bad rollout", "--exponential-rate", []string{"create-job", "j1", "-t", "dev-1", "--document", "{}", "--exponential-rate", "base=1"}},
		{"watch interval", "--interval", []string{"describe-job", "j1", "--watch", "--interval", "1ms"}},
		{"no document", "--document", []string{"create-job", "j1", "-t", "dev-1"}},
		{"document not an object", "JSON object", []string{"create-job", "j1", "-t", "dev-1", "--document", "[1]"}},
		{"document not JSON", "document is not JSON: invalid character 'o' looking for beginning of object key string, at line 1, column 2", []string{"create-job", "j1", "-t", "dev-1", "--document", "{oops"}},
		{"document file missing", "missing.json", []string{"create-job", "j1", "-t", "dev-1", "--document", missing}},
		{"zero timeout", "--in-progress-timeout", []string{"create-job", "j1", "-t", "dev-1", "--document", "{}", "--in-progress-timeout", "0"}},
		{"no job id", "describe-job needs <job-id>; e.g. iotjobs emulator describe-job job-42", []string{"describe-job"}},
		{"bad output", "--output", []string{"list-jobs", "-o", "yaml"}},
		{"bad emulator URL", "--emulator", []string{"list-jobs", "--emulator", "127.0.0.1:8084"}},
		{"bad job status", "--status", []string{"list-jobs", "--status", "QUEUED"}},
		{"max results", "--max-results", []string{"list-jobs", "--max-results", "251"}},
		{"neither job nor thing", "--job JOB-ID or --thing NAME", []string{"list-executions"}},
		{"job and thing", "either --job or --thing, not both", []string{"list-executions", "--job", "j1", "--thing", "dev-1"}},
		{"bad execution status", "--status", []string{"list-executions", "--thing", "dev-1", "--status", "DONE"}},
		{"execution without thing", "--thing", []string{"describe-execution", "j1"}},
		{"bad thing", "invalid thing name", []string{"cancel-execution", "j1", "-t", "a+b"}},
		{"bad status detail", "status detail", []string{"cancel-execution", "j1", "-t", "dev-1", "--status-detail", "novalue"}},
		{"delete without number", "--execution-number", []string{"delete-execution", "j1", "-t", "dev-1"}},
		{"zero execution number", "--execution-number", []string{"delete-execution", "j1", "-t", "dev-1", "--execution-number", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Against a dead address: had anything been sent, the exit
			// would be 3.
			r := iotjobs.Run(t, []string{"IOTJOBS_EMULATOR=" + dead}, append([]string{"emulator"}, tc.args...)...)
			testutil.WantExit(t, r, 2)
			if r.Stdout != "" || !strings.Contains(r.Stderr, tc.want) {
				t.Fatalf("want %q on stderr and nothing on stdout\n%s", tc.want, r)
			}
			// And against the emulator: nothing was created.
			testutil.WantExit(t, ctl(t, emu, tc.args...), 2)
		})
	}
	if list := testutil.Reply(t, ctl(t, emu, "list-jobs")); len(list["jobs"].([]any)) != 0 {
		t.Errorf("refused input created jobs: %v", list)
	}
}

func TestControlVerbsNothingListeningExit3(t *testing.T) {
	dead := "http://" + testutil.FreeAddr(t)
	for _, args := range [][]string{
		{"list-jobs"},
		{"create-job", "j1", "-t", "dev-1", "--document", "{}"},
		{"delete-execution", "j1", "-t", "dev-1", "--execution-number", "1"},
	} {
		r := iotjobs.Run(t, nil, append(append([]string{"emulator"}, args...), "--emulator", dead)...)
		testutil.WantExit(t, r, 3)
		if r.Stdout != "" || !strings.Contains(r.Stderr, "connection refused") || !strings.Contains(r.Stderr, "iotjobs emulator") {
			t.Errorf("want a refused connection and a hint to start the emulator\n%s", r)
		}
	}
}

func TestControlVerbsHelpNeverConnects(t *testing.T) {
	for _, verb := range []string{"create-job", "describe-job", "list-jobs", "cancel-job", "delete-job",
		"list-executions", "describe-execution", "cancel-execution", "delete-execution"} {
		r := iotjobs.Run(t, []string{"IOTJOBS_EMULATOR=" + "http://" + testutil.FreeAddr(t)}, "emulator", verb, "--help")
		testutil.WantExit(t, r, 0)
		if !strings.Contains(r.Stdout, "$ iotjobs emulator "+verb) || !strings.Contains(r.Stdout, "| jq") {
			t.Errorf("%s --help lacks examples (one piped to jq):\n%s", verb, r.Stdout)
		}
	}
}

// TestControlVerbsOutputNames: -o takes pretty (a table), as every other
// command does, table as its alias, and json; anything else is exit 2.
func TestControlVerbsOutputNames(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.WantExit(t, ctl(t, emu, "create-job", "job-o", "--target", "thing-1", "--document", `{}`), 0)
	for _, format := range []string{"pretty", "table"} {
		r := ctl(t, emu, "list-jobs", "-o", format)
		testutil.WantExit(t, r, 0)
		if !strings.HasPrefix(r.Stdout, "JOB ID") || !strings.Contains(r.Stdout, "job-o") {
			t.Errorf("-o %s gave no table:\n%s", format, r)
		}
	}
	if r := ctl(t, emu, "list-jobs", "-o", "json"); !strings.HasPrefix(r.Stdout, `{"jobs":[`) {
		t.Errorf("-o json:\n%s", r)
	}
	r := iotjobs.Run(t, []string{"IOTJOBS_EMULATOR=" + emu.HTTPURL, "IOTJOBS_OUTPUT=pretty"}, "emulator", "list-jobs")
	if !strings.HasPrefix(r.Stdout, "JOB ID") {
		t.Errorf("IOTJOBS_OUTPUT=pretty gave no table:\n%s", r)
	}
	r = ctl(t, emu, "list-jobs", "-o", "yaml")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, "use pretty or json") {
		t.Errorf("-o yaml:\n%s", r)
	}
}

// TestControlVerbsShareTheCommonFlags: -v traces each HTTP exchange on
// stderr, --no-color is taken, and IOTJOBS_TIMEOUT is read and checked as
// for the device commands.
func TestControlVerbsShareTheCommonFlags(t *testing.T) {
	emu := testutil.StartEmulator(t)
	r := ctl(t, emu, "create-job", "j1", "-t", "dev-1", "--document", `{"a":1}`, "-v", "--no-color")
	testutil.WantExit(t, r, 0)
	for _, want := range []string{
		"> PUT " + emu.HTTPURL + `/jobs/j1 {"targets":["dev-1"],"document":"{\"a\":1}"}`,
		"< 200 OK in ",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("-v does not trace %q:\n%s", want, r)
		}
	}
	r = iotjobs.Run(t, []string{"IOTJOBS_EMULATOR=" + emu.HTTPURL, "IOTJOBS_TIMEOUT=soon"}, "emulator", "list-jobs")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, `invalid IOTJOBS_TIMEOUT "soon"`) {
		t.Errorf("bad IOTJOBS_TIMEOUT:\n%s", r)
	}
	r = iotjobs.Run(t, []string{"IOTJOBS_EMULATOR=" + emu.HTTPURL, "IOTJOBS_TIMEOUT=5s"}, "emulator", "list-jobs")
	testutil.WantExit(t, r, 0)
}

// TestControlVerbsReadProfilesAndEnvironment: the emulator URL can come
// from a profile, the thing of the execution verbs from IOTJOBS_THING or
// the profile, as for the device commands.
func TestControlVerbsReadProfilesAndEnvironment(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "j1", "dev-1", "{}")
	xdg, _ := testutil.WriteProfiles(t, "default_profile = \"lab\"\n[profiles.lab]\nemulator = \""+emu.HTTPURL+"\"\nthing = \"dev-1\"\n[profiles.other]\nemulator = \"http://127.0.0.1:1\"\n")
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		exit int
	}{
		{"default profile", []string{xdg}, []string{"describe-execution", "j1"}, 0},
		{"--profile", []string{xdg}, []string{"describe-execution", "j1", "-t", "dev-1", "--profile", "other"}, 3},
		{"IOTJOBS_PROFILE", []string{xdg, "IOTJOBS_PROFILE=other"}, []string{"list-jobs"}, 3},
		{"IOTJOBS_EMULATOR wins over the profile", []string{xdg, "IOTJOBS_PROFILE=other", "IOTJOBS_EMULATOR=" + emu.HTTPURL}, []string{"list-jobs"}, 0},
		{"IOTJOBS_THING wins over the profile", []string{xdg, "IOTJOBS_THING=dev-9"}, []string{"describe-execution", "j1"}, 14},
		{"the flag wins over both", []string{xdg, "IOTJOBS_THING=dev-9"}, []string{"describe-execution", "j1", "-t", "dev-1"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := iotjobs.Run(t, tt.env, append([]string{"emulator"}, tt.args...)...)
			testutil.WantExit(t, r, tt.exit)
		})
	}
}
