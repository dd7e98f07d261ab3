package shellcmd_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// TestScriptWalksAJob: a here-document drives a whole job walk on one
// connection; each command gives a JSON line tagged with the command, the
// notifications come as watch prints them, and the exit status is that of
// the first command that failed.
func TestScriptWalksAJob(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{"op":"x"}`)
	script := `get-pending
# a comment, and a blank line

start-next --step-timeout 10
describe $next
update job-1 --status succeeded --expected-version 2
describe nosuch
bogus
get-pending
`
	cmd := exec.Command(iotjobs.Path, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "XDG_STATE_HOME=" + t.TempDir()}
	cmd.Stdin = strings.NewReader(script)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	}
	if code != 14 {
		t.Fatalf("exit %d (%v), want 14, that of describe nosuch\n%s\n%s", code, err, stdout.String(), stderr.String())
	}
	var commands []string
	codes := map[string]float64{}
	replies := map[string]string{}
	notifications := 0
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if c, ok := m["command"].(string); ok {
			commands = append(commands, c)
			codes[c] = m["exitCode"].(float64)
			reply, _ := json.Marshal(m["reply"])
			replies[c] = string(reply)
			continue
		}
		if strings.HasPrefix(m["topic"].(string), "$aws/things/thing-1/jobs/notify") {
			notifications++
		}
	}
	want := []string{"get-pending", "start-next --step-timeout 10", "describe $next", "update job-1 --status succeeded --expected-version 2", "describe nosuch", "bogus", "get-pending"}
	if strings.Join(commands, "|") != strings.Join(want, "|") {
		t.Fatalf("commands %q, want %q", commands, want)
	}
	if codes["start-next --step-timeout 10"] != 0 || !strings.Contains(replies["start-next --step-timeout 10"], `"status":"IN_PROGRESS"`) ||
		!strings.Contains(replies["describe $next"], `"jobId":"job-1"`) || codes["describe nosuch"] != 14 || codes["bogus"] != 2 ||
		!strings.Contains(replies["get-pending"], `"queuedJobs":[]`) {
		t.Errorf("replies %v, codes %v", replies, codes)
	}
	if notifications < 2 { // notify and notify-next of the SUCCEEDED update
		t.Errorf("%d notifications:\n%s", notifications, stdout.String())
	}
	if !strings.Contains(stderr.String(), `iotjobs: "bogus" is not a command of the shell`) {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// terminal is the shell running under a pseudo-terminal, its screen
// collected.
type terminal struct {
	t      *testing.T
	pty    *os.File
	cmd    *exec.Cmd
	mu     sync.Mutex
	screen strings.Builder
	// state is the shell's $XDG_STATE_HOME.
	state string
}

func startTerminal(t *testing.T, args ...string) *terminal {
	return startTerminalIn(t, t.TempDir(), args...)
}

// startTerminalIn starts the shell with state as its $XDG_STATE_HOME.
func startTerminalIn(t *testing.T, state string, args ...string) *terminal {
	cmd := exec.Command(iotjobs.Path, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "XDG_STATE_HOME=" + state, "TERM=xterm", "NO_COLOR=1"}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 200})
	if err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, pty: f, cmd: cmd, state: state}
	go func() {
		r := bufio.NewReader(f)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			term.mu.Lock()
			term.screen.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
	})
	return term
}

var escapes = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// text is what the terminal showed, without its escape sequences.
func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return escapes.ReplaceAllString(term.screen.String(), "")
}

// waitFor waits until the screen shows s n times in all.
func (term *terminal) waitFor(s string, n int) {
	term.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for term.count(s) < n {
		if time.Now().After(deadline) {
			term.t.Fatalf("the terminal does not show %q %d times:\n%s", s, n, term.text())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// count is how many times the screen has shown s so far.
func (term *terminal) count(s string) int { return strings.Count(term.text(), s) }

func (term *terminal) typeIn(s string) {
	term.t.Helper()
	if _, err := io.WriteString(term.pty, s); err != nil {
		term.t.Fatal(err)
	}
}

// TestInteractiveSession: at a real terminal the prompt names the thing
// and the connection, a command runs and prints its reply, a job created
// meanwhile prints its notification, Tab completes a command and a job id
// seen, and exit ends the session with status 0. The history file is its
// owner's alone.
func TestInteractiveSession(t *testing.T) {
	emu := testutil.StartEmulator(t)
	term := startTerminal(t, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	term.waitFor("thing-1 (connected)> ", 1)

	term.typeIn("get-pending\r")
	term.waitFor(`"queuedJobs": []`, 1)
	term.waitFor("thing-1 (connected)> ", 2)

	testutil.CreateJob(t, emu, "job-7", "thing-1", `{}`)
	term.waitFor("notify-next", 1)
	term.waitFor("job-7", 1)

	term.typeIn("star\t") // completes start-next
	term.waitFor("start-next", 1)
	term.typeIn("\r")
	term.waitFor(`"status": "IN_PROGRESS"`, 1)

	term.typeIn("update jo\t--status SUCC\t\r") // the job id seen, the status
	term.waitFor("update job-7 --status SUCCEEDED", 1)
	term.waitFor(`"clientToken"`, 3)
	term.waitFor("notify-next  (nothing pending)", 1)

	term.typeIn("exit\r")
	done := make(chan error, 1)
	go func() { done <- term.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, term.text())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the shell did not end:\n%s", term.text())
	}
	info, err := os.Stat(filepath.Join(term.state, "iotjobs", "shell_history"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the history file is %v, want -rw-------", info.Mode().Perm())
	}
}

// TestInteractiveCompletesFlagsAnywhere: at a real terminal Tab completes
// a flag wherever the line is among its flags: after update without a job
// id, after other flags and their values, after $next, and after wait;
// the first line, so completed, runs on the execution in progress.
func TestInteractiveCompletesFlagsAnywhere(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-a", "thing-1", `{}`)
	testutil.CreateJob(t, emu, "job-b", "thing-1", `{}`)
	term := startTerminal(t, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	term.waitFor("thing-1 (connected)> ", 1)
	term.typeIn("start-next\r")
	term.waitFor(`"status": "IN_PROGRESS"`, 1)
	term.waitFor("thing-1 (connected)> ", 2)

	term.typeIn("update --st\t") // lists --status, --status-detail, --step-timeout
	term.waitFor("--status-detail", 1)
	term.typeIn("atus SUCC\t\r")
	term.waitFor("update --status SUCCEEDED", 1)
	term.waitFor(`"status": "SUCCEEDED"`, 1) // job-a's, the session's execution in progress

	listed := term.count("--status-detail") // the list above is redrawn as the line is typed
	term.typeIn("update job-b --expected-version 1 --st\t")
	term.waitFor("--status-detail", listed+1)
	term.typeIn("\x03\x03") // the list closes, then the line is dropped
	term.waitFor("^C", 1)

	term.typeIn("describe $next --inc\t")
	term.waitFor("describe $next --include-job-document=false", 1)
	term.typeIn("\x03")
	term.waitFor("^C", 2)

	term.typeIn("wait --ti\t")
	term.waitFor("wait --timeout", 1)
	term.typeIn("\x03")
	term.waitFor("^C", 3)

	term.typeIn("exit\r")
	if err := term.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, term.text())
	}
}

// TestInteractiveHistoryStaysPrivate: a history file that an older
// iotjobs left readable by all, and long enough that readline replaces it
// with a trimmed copy, ends up its owner's alone.
func TestInteractiveHistoryStaysPrivate(t *testing.T) {
	emu := testutil.StartEmulator(t)
	state := t.TempDir()
	history := filepath.Join(state, "iotjobs", "shell_history")
	if err := os.MkdirAll(filepath.Dir(history), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(history, []byte(strings.Repeat("get-pending\n", 600)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(history, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	term := startTerminalIn(t, state, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	term.waitFor("thing-1 (connected)> ", 1)
	term.typeIn("exit\r")
	if err := term.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, term.text())
	}
	info, err := os.Stat(history)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the history file is %v, want -rw-------", info.Mode().Perm())
	}
}

// TestScriptRemembers: update without a job id acts on the execution in
// progress, --expected-version last is the version last seen, and with
// nothing in progress the line is refused before anything is sent.
func TestScriptRemembers(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	cmd := exec.Command(iotjobs.Path, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "XDG_STATE_HOME=" + t.TempDir()}
	cmd.Stdin = strings.NewReader("start-next\nupdate --status IN_PROGRESS --status-detail step=2 --expected-version last\nupdate --status SUCCEEDED --expected-version=last\nupdate --status SUCCEEDED\n")
	out, _ := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var got []string
	for _, l := range lines {
		var m struct {
			Command  string
			ExitCode int
			Reply    struct {
				ExecutionState struct {
					Status        string
					VersionNumber int
				}
			}
		}
		if json.Unmarshal([]byte(l), &m) == nil && m.Command != "" {
			got = append(got, fmt.Sprintf("%d %s %d", m.ExitCode, m.Reply.ExecutionState.Status, m.Reply.ExecutionState.VersionNumber))
		}
	}
	want := []string{"0  0", "0 IN_PROGRESS 3", "0 SUCCEEDED 4", "2  0"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q\n%s", got, want, out)
	}
	if cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("exit %d, want 2 (the refused last line)", cmd.ProcessState.ExitCode())
	}
}

// TestInteractiveRedrawAndReconnect: a notification arriving while a line
// is half typed prints above it and the line is kept; when the emulator
// restarts under the session the prompt says so, the session reconnects
// and resyncs with get-pending, its messages printed above the half-typed
// line rather than over it.
func TestInteractiveRedrawAndReconnect(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithTempDataPath(t))
	term := startTerminal(t, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	term.waitFor("thing-1 (connected)> ", 1)
	term.typeIn("get-pen")
	term.waitFor("get-pen", 1)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	term.waitFor("notify-next", 1)
	term.typeIn("ding\r")
	term.waitFor(`"jobId": "job-1"`, 1)
	term.waitFor("accepted in", 1)

	term.typeIn("describe jo")
	emu.Restart(t)
	term.waitFor("reconnected; resyncing with get-pending", 1)
	term.waitFor("thing-1 (connected)> ", 4)
	term.waitFor("resync", 2)
	if over := regexp.MustCompile(`describe jo[^\r\n]*(dis|re)connected`).FindString(term.text()); over != "" {
		t.Errorf("a message ran into the line being typed: %q", over)
	}
	term.typeIn("b-1\r")
	term.waitFor(`"jobDocument": {}`, 1)
	term.typeIn("exit\r")
	if err := term.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, term.text())
	}
}

// TestCtrlCCancelsTheRequestNotTheSession: Ctrl-C while a request waits
// for its reply cancels that request; the session goes on.
func TestCtrlCCancelsTheRequestNotTheSession(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "fault", "delay-replies", "--delay", "30s", "--count", "1", "--emulator", emu.HTTPURL), 0)
	term := startTerminal(t, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	term.waitFor("thing-1 (connected)> ", 1)
	term.typeIn("get-pending\r")
	time.Sleep(300 * time.Millisecond) // the request is on its way
	term.typeIn("\x03")
	term.waitFor("canceled", 1)
	term.waitFor("thing-1 (connected)> ", 2)
	term.typeIn("get-pending\r")
	term.waitFor(`"queuedJobs": []`, 1)
	term.typeIn("\x04") // Ctrl-D ends it
	if err := term.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, term.text())
	}
}

// TestScriptWait: wait inside the session follows the session's
// notifications on its one connection, and refuses another thing.
func TestScriptWait(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-1", "thing-1", `{}`)
	cmd := exec.Command(iotjobs.Path, "shell", "-t", "thing-1", "-e", emu.Endpoint, "-v")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "XDG_STATE_HOME=" + t.TempDir()}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr testutil.LockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, "start-next\nwait job-1 --until SUCCEEDED --timeout 20s\n")
	// Once the wait has described the execution, the device finishes it.
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(stderr.String(), "< $aws/things/thing-1/jobs/job-1/get/accepted") < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the wait did not describe:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	testutil.WantExit(t, iotjobs.Run(t, nil, "update", "job-1", "--status", "SUCCEEDED", "-t", "thing-1", "--client-id", "device", "-e", emu.Endpoint), 0)
	io.WriteString(stdin, "wait job-1 --until SUCCEEDED -t thing-2\n")
	stdin.Close()
	err = cmd.Wait()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2 (the wait for thing-2)\n%s\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, `{"command":"wait job-1 --until SUCCEEDED --timeout 20s","exitCode":0,"reply":{"execution":{"jobId":"job-1","status":"SUCCEEDED"`) ||
		!strings.Contains(out, `"error":"the session watches thing-1's notifications: run this in another terminal for thing-2"`) {
		t.Errorf("stdout:\n%s", out)
	}
	if strings.Count(stderr.String(), "* connecting to") != 1 {
		t.Errorf("more than one connection:\n%s", stderr.String())
	}
}

// TestScriptRefusesAFanOut: a line that asks many things is refused (2)
// before anything is sent: its own connections would take the session's
// client id over, and the session would lose its connection. The session
// goes on, undisturbed.
func TestScriptRefusesAFanOut(t *testing.T) {
	emu := testutil.StartEmulator(t)
	cmd := exec.Command(iotjobs.Path, "shell", "-t", "thing-1", "-e", emu.Endpoint)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir(), "XDG_STATE_HOME=" + t.TempDir()}
	cmd.Stdin = strings.NewReader("get-pending -t a,b\nwait job-1 -t a -t b --until terminal\nget-pending\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 {
		t.Fatalf("exit %v, want 2\n%s\n%s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"exitCode":2`) || !strings.Contains(lines[1], `"exitCode":2`) ||
		!strings.Contains(lines[2], `"command":"get-pending","exitCode":0`) ||
		!strings.Contains(stderr.String(), "a line of iotjobs shell acts on the session's one connection, for one thing at a time") ||
		strings.Contains(stderr.String(), "disconnected") {
		t.Errorf("a fan-out in the session:\n%s\n%s", stdout.String(), stderr.String())
	}
}
