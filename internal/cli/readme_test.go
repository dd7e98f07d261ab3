package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestREADMEScript runs the bash example of README.md's Scripting section
// as written, with the real binary on PATH against an emulator, so the
// example a user copies keeps working: it branches on exit codes and reads
// replies with jq.
func TestREADMEScript(t *testing.T) {
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the README's script (apt-get install %s): %v", tool, tool, err)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Scripting")
	if ok {
		_, rest, ok = strings.Cut(rest, "```bash\n")
	}
	script, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("README.md has no ```bash block under ## Scripting")
	}

	emu := testutil.StartEmulator(t)
	// run-the-job is the user's own work; here a stand-in that succeeds or
	// fails as the test asks.
	dir := t.TempDir()
	if err := os.Symlink(iotjobs.Path, filepath.Join(dir, "iotjobs")); err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(dir, "run-the-job"), "#!/bin/sh\nexit ${JOB_EXIT:-0}\n")
	if err := os.Chmod(filepath.Join(dir, "run-the-job"), 0o755); err != nil {
		t.Fatal(err)
	}
	runScript := func(jobExit string) (string, int) {
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = []string{"PATH=" + dir + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(),
			"IOTJOBS_ENDPOINT=" + emu.Endpoint, "JOB_EXIT=" + jobExit}
		out, err := cmd.CombinedOutput()
		code := 0
		if exitErr, ok := err.(*exec.ExitError); ok {
			code = exitErr.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	for _, id := range []string{"job-ok", "job-bad"} {
		if _, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: id, Targets: []string{"my-thing"}, Document: `{"op":"x"}`}); err != nil {
			t.Fatal(err)
		}
	}

	if out, code := runScript("0"); code != 0 || !strings.Contains(out, "reported SUCCEEDED") {
		t.Errorf("first run: exit %d\n%s", code, out)
	}
	if out, code := runScript("1"); code != 0 || !strings.Contains(out, "reported FAILED") {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
	if out, code := runScript("0"); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("third run: exit %d\n%s", code, out)
	}
	for id, want := range map[string]string{"job-ok": "SUCCEEDED", "job-bad": "FAILED"} {
		x, err := emu.Engine().DescribeJobExecution(iotapi.DescribeJobExecutionInput{JobID: id, ThingName: "my-thing"})
		if err != nil || string(x.Status) != want {
			t.Errorf("%s: status %s (%v), want %s", id, x.Status, err, want)
		}
	}
}

// TestREADMEForNewcomers: what a newcomer needs before the examples work is
// said: how to get a bare iotjobs from a clone, the demo's ports, what
// -race needs; and the walk-through starts watch before the job exists.
func TestREADMEForNewcomers(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for _, want := range []string{"go build -o ~/go/bin/iotjobs ./cmd/iotjobs", "127.0.0.1:1883", "free ports otherwise", "-race` needs cgo"} {
		if !strings.Contains(strings.Join(strings.Fields(readme), " "), want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
	_, walk, _ := strings.Cut(readme, "## Walk a job by hand")
	watch, create := strings.Index(walk, "iotjobs watch"), strings.Index(walk, "iotjobs emulator create-job")
	if watch < 0 || create < 0 || watch > create {
		t.Errorf("the walk-through must start watch before create-job (watch at %d, create-job at %d)", watch, create)
	}
}
