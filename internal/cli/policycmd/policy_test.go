package policycmd_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// generate runs iotjobs policy with args and writes its policy to a file.
func generate(t *testing.T, args ...string) string {
	t.Helper()
	r := iotjobs.Run(t, nil, append([]string{"policy"}, args...)...)
	testutil.WantExit(t, r, 0)
	if !json.Valid([]byte(r.Stdout)) {
		t.Fatalf("not JSON:\n%s", r)
	}
	path := filepath.Join(t.TempDir(), "policy.json")
	testutil.WriteFile(t, path, r.Stdout)
	return path
}

// TestGeneratedPolicyAllowsExactlyTheCommands: the policy made for
// get-pending and update lets the emulator, which enforces it, serve those
// two, and closes the connection of start-next and watch.
func TestGeneratedPolicyAllowsExactlyTheCommands(t *testing.T) {
	path := generate(t, "-t", "thing-1", "--for", "get-pending,update", "--region", "us-east-1", "--account", "123456789012")
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Policies = []string{path} }))
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	conn := []string{"-t", "thing-1", "-e", emu.Endpoint, "--retries", "0", "--timeout", "5s"}
	testutil.WantExit(t, iotjobs.Run(t, nil, append([]string{"get-pending"}, conn...)...), 0)
	testutil.WantExit(t, iotjobs.Run(t, nil, append([]string{"update", "job-1", "--status", "IN_PROGRESS"}, conn...)...), 0)
	r := iotjobs.Run(t, nil, append([]string{"start-next"}, conn...)...)
	testutil.WantExit(t, r, 3)
	// The message names what may have been denied, and the next step.
	for _, want := range []string{"iot:Subscribe on topicfilter/$aws/things/thing-1/jobs/start-next/accepted", "iot:Publish on topic/$aws/things/thing-1/jobs/start-next",
		"\n  check the certificate's policy with: iotjobs policy -t thing-1 --for start-next --check POLICY.json\n"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("start-next denied: no %q in\n%s", want, r.Stderr)
		}
	}
	r = iotjobs.Run(t, nil, append([]string{"describe", "job-1"}, conn...)...)
	testutil.WantExit(t, r, 3)
	// Another thing's request is not covered either.
	testutil.WantExit(t, iotjobs.Run(t, nil, "get-pending", "-t", "thing-2", "--client-id", "thing-1", "-e", emu.Endpoint, "--retries", "0", "--timeout", "5s"), 3)
}

// TestCheckExplainsDenials: --check says, per command, allowed or the
// first permission missing and why it is denied; exit 1 when any is.
func TestCheckExplainsDenials(t *testing.T) {
	path := generate(t, "-t", "thing-1", "--for", "get-pending,watch")
	r := iotjobs.Run(t, nil, "policy", "-t", "thing-1", "--check", path, "-o", "json")
	testutil.WantExit(t, r, 1)
	var verdicts []struct {
		Command string
		Thing   string
		Allowed bool
		Denied  []struct{ Action, Resource, Why, Decision string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &verdicts); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r)
	}
	allowed := map[string]bool{}
	for _, v := range verdicts {
		allowed[v.Command] = v.Allowed
		if v.Command == "update" {
			d := v.Denied[0]
			if d.Action != "iot:Publish" || d.Resource != "arn:aws:iot:*:*:topic/$aws/things/thing-1/jobs/example-job/update" ||
				d.Decision != "denied: no statement allows it" || d.Why != "publish the update request" {
				t.Errorf("update's denial: %+v", d)
			}
		}
	}
	want := map[string]bool{"get-pending": true, "start-next": false, "describe": false, "update": false, "watch": true, "wait": false}
	for c, a := range want {
		if allowed[c] != a {
			t.Errorf("%s allowed %v, want %v", c, allowed[c], a)
		}
	}

	// An explicit Deny is named, on the table a terminal reads.
	deny := filepath.Join(t.TempDir(), "deny.json")
	testutil.WriteFile(t, deny, `{"Version": "2012-10-17", "Statement": [{"Sid": "NoNotifyNext", "Effect": "Deny", "Action": "iot:Receive", "Resource": "arn:aws:iot:*:*:topic/$aws/things/*/jobs/notify-next"}]}`)
	r = iotjobs.Run(t, nil, "policy", "-t", "thing-1", "--for", "get-pending,watch", "--check", path, "--check", deny, "-o", "pretty")
	testutil.WantExit(t, r, 1)
	rows := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(rows) != 3 || !strings.Contains(rows[1], "allowed") ||
		!strings.Contains(rows[2], `iot:Receive arn:aws:iot:*:*:topic/$aws/things/thing-1/jobs/notify-next (to receive notify-next): denied by `+deny+` statement 1 ("NoNotifyNext")`) {
		t.Errorf("check table:\n%s", r)
	}
	testutil.WantExit(t, iotjobs.Run(t, nil, "policy", "-t", "thing-1", "--for", "get-pending", "--check", path), 0)
}

// TestManyThings: a pattern stands for many things: a fan-out's client id,
// replies without subscriptions, wait's wildcard filters; one-thing
// commands are refused for it.
func TestManyThings(t *testing.T) {
	r := iotjobs.Run(t, nil, "policy", "-t", "sensor-*", "--for", "get-pending,wait", "-o", "json")
	testutil.WantExit(t, r, 0)
	for _, want := range []string{
		`"arn:aws:iot:*:*:client/iotjobs-*"`,
		`"arn:aws:iot:*:*:topic/$aws/things/sensor-*/jobs/get"`,
		`"arn:aws:iot:*:*:topicfilter/$aws/things/+/jobs/notify"`,
		`"arn:aws:iot:*:*:topic/$aws/things/sensor-*/jobs/notify-next"`,
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("no %s in\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "topicfilter/$aws/things/sensor-*/jobs/get/accepted") {
		t.Errorf("a fan-out subscribes to no reply on AWS IoT:\n%s", r.Stdout)
	}
	r = iotjobs.Run(t, nil, "policy", "-t", "sensor-*", "--for", "start-next")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, "start-next acts on one thing") {
		t.Errorf("start-next over many things:\n%s", r)
	}
}

func TestPolicyBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.json")
	testutil.WriteFile(t, bad, "{\"Statement\": [\n  {\"Effect\": \"Allow\",}\n]}")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"policy"}, "policy needs the thing: -t NAME"},
		{[]string{"policy", "-t", "thing-1", "--for", "reboot"}, `invalid --for "reboot": use get-pending, start-next`},
		{[]string{"policy", "-t", "a/b"}, `invalid --thing "a/b"`},
		{[]string{"policy", "-t", "a,b"}, "give one thing, or a pattern with *"},
		{[]string{"policy", "-t", "s-*", "--check", bad}, "--check evaluates real requests"},
		{[]string{"policy", "-t", "thing-1", "--check", bad}, bad + ": line 2, column "},
		{[]string{"policy", "-t", "thing-1", "--region", "eu:west"}, `invalid --region "eu:west"`},
		{[]string{"policy", "-t", "thing-1", "-o", "yaml"}, `invalid --output "yaml"`},
	} {
		r := iotjobs.Run(t, nil, tt.args...)
		if r.ExitCode != 2 || !strings.Contains(r.Stderr, tt.want) || r.Stdout != "" {
			t.Errorf("%v: want exit 2 and %q:\n%s", tt.args, tt.want, r)
		}
	}
}

// TestShellPolicy: the policy made for shell lets a whole session run
// under the emulator's enforcement: its wildcard reply subscriptions, the
// requests and the notifications.
func TestShellPolicy(t *testing.T) {
	path := generate(t, "-t", "thing-1", "--for", "shell")
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Policies = []string{path} }))
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	cmd := exec.Command(iotjobs.Path, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "XDG_STATE_HOME=" + t.TempDir()}
	cmd.Stdin = strings.NewReader("get-pending\nstart-next\ndescribe job-1\nupdate --status SUCCEEDED --expected-version last\nget-pending\n")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Count(string(out), `"exitCode":0`) != 5 {
		t.Errorf("a session under its own policy: %v\n%s", err, out)
	}
}

// TestRunPolicy: the policy made for run lets the job agent walk a job
// under the emulator's enforcement.
func TestRunPolicy(t *testing.T) {
	path := generate(t, "-t", "thing-1", "--for", "run")
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Policies = []string{path} }))
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	r := iotjobs.Run(t, nil, "run", "-t", "thing-1", "-e", emu.Endpoint, "--exec", "echo '::progress step=1'; true", "--once")
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stdout, `"status":"SUCCEEDED"`) {
		t.Errorf("run under its own policy:\n%s", r)
	}
	if r := iotjobs.Run(t, nil, "policy", "-t", "thing-1", "--for", "run,get-pending", "--check", path, "-o", "pretty"); r.ExitCode != 1 ||
		!strings.Contains(r.Stdout, "get-pending  thing-1  denied   iot:Publish") {
		t.Errorf("the run policy allows get-pending:\n%s", r)
	}
}

// TestFanOutUnderAFanOutPolicy: the policy made for a fan-out allows no
// reply subscription (AWS IoT answers without one); the emulator enforcing
// it closes the connection at the fan-out's wildcard SUBSCRIBE, and the
// fan-out connects again without it and gets its replies, for requests and
// for a wait.
func TestFanOutUnderAFanOutPolicy(t *testing.T) {
	path := generate(t, "-t", "thing-*", "--for", "get-pending,describe,wait", "--region", "us-east-1", "--account", "123456789012")
	emu := testutil.StartEmulator(t, testutil.WithConfig(func(c *emulator.Config) { c.Policies = []string{path} }))
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	testutil.CreateJob(t, emu, "job-2", "thing-2", `{}`)
	r := iotjobs.Run(t, nil, "get-pending", "-t", "thing-1,thing-2,thing-3", "-e", emu.Endpoint, "--retries", "0", "--timeout", "5s", "-v")
	testutil.WantExit(t, r, 0)
	if strings.Count(r.Stdout, `"outcome":"accepted"`) != 3 ||
		!strings.Contains(r.Stderr, "* the server closed the connection at the SUBSCRIBE to the replies: connecting again, to take them without one") {
		t.Errorf("get-pending fan-out under its policy:\n%s", r)
	}
	r = iotjobs.Run(t, nil, "wait", "job-1", "-t", "thing-1", "-t", "thing-9", "-e", emu.Endpoint, "--until", "QUEUED", "--missing", "wait", "--timeout", "2s")
	if r.ExitCode != 1 || !strings.Contains(r.Stdout, `"thing":"thing-1","outcome":"accepted"`) || !strings.Contains(r.Stdout, `"thing":"thing-9","outcome":"timeout"`) {
		t.Errorf("wait fan-out under its policy:\n%s", r)
	}
}
