package testutil

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Process is a run of the binary that a test talks to while it runs (watch,
// wait): it reads stdout line by line as the lines come, watches stderr,
// signals the process and collects its Result.
type Process struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	start  time.Time
	lines  chan string // stdout, one line at a time; closed at EOF
	stdout *LockedBuffer
	stderr *LockedBuffer
	exited chan struct{}
	result Result
}

// StartBinary starts bin with args, in the environment RunBinary gives it.
// The process is killed when the test ends, or after a minute.
func StartBinary(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	p := &Process{cmd: binaryCommand(ctx, t, bin, env, args), cancel: cancel, lines: make(chan string, 4096),
		stdout: &LockedBuffer{}, stderr: &LockedBuffer{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		scanner := bufio.NewScanner(out)
		scanner.Buffer(make([]byte, 64*1024), 1024*1024)
		for scanner.Scan() {
			line := scanner.Text()
			p.stdout.Write([]byte(line + "\n"))
			p.lines <- line
		}
		close(p.lines)
		// Wait only after stdout is drained, as os/exec requires.
		err := p.cmd.Wait()
		p.result = Result{Stdout: p.stdout.String(), Stderr: p.stderr.String(), Elapsed: time.Since(p.start)}
		var exitErr *exec.ExitError
		switch {
		case errors.As(err, &exitErr):
			p.result.ExitCode = exitErr.ExitCode()
		case err != nil:
			p.result.ExitCode = -1
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.exited
	})
	return p
}

// Line returns the next line of stdout, and fails the test if none comes
// within d or stdout ends.
func (p *Process) Line(t testing.TB, d time.Duration) string {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			t.Fatalf("stdout ended, no line\n%s", p.Wait(t))
		}
		return line
	case <-time.After(d):
		t.Fatalf("no line on stdout within %s\nstdout so far:\n%s\nstderr so far:\n%s", d, p.stdout, p.stderr)
	}
	return ""
}

// NoLine fails the test if a line comes on stdout within d.
func (p *Process) NoLine(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if ok {
			t.Fatalf("unexpected line on stdout: %s", line)
		}
	case <-time.After(d):
	}
}

// WaitStderr waits until stderr contains s, and fails the test if it does
// not within d.
func (p *Process) WaitStderr(t testing.TB, s string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.stderr.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("stderr has no %q within %s:\n%s", s, d, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits for the process to exit (at most half a minute) and returns
// what it left behind; Stdout has every line, read by Line or not.
func (p *Process) Wait(t testing.TB) Result {
	t.Helper()
	go func() {
		for range p.lines { // let the reader reach EOF
		}
	}()
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.cancel()
		<-p.exited
		t.Fatalf("the process did not exit within 30s\n%s", p.result)
	}
	return p.result
}
