package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BuildBinary builds cmd/iotjobs into dir and returns the path of the
// binary. Call it once from TestMain, so every test of the package runs the
// same real binary as a process.
func BuildBinary(dir string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "iotjobs")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/iotjobs")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/iotjobs: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Result is what a run of the binary left behind.
type Result struct {
	Stdout   string
	Stderr   string
	ExitCode int
	Elapsed  time.Duration
}

// String shows the whole run, for test failure messages.
func (r Result) String() string {
	return fmt.Sprintf("exit %d after %s\n--- stdout\n%s--- stderr\n%s", r.ExitCode, r.Elapsed.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// RunBinary runs bin with args and the environment env (KEY=VALUE entries
// added to a clean environment that keeps only PATH and HOME, so the
// developer's IOTJOBS_* settings never leak into a test; XDG_CONFIG_HOME
// is an empty directory unless env sets it, for the same reason with the
// profiles file). It kills the process if it outlives a minute.
func RunBinary(t testing.TB, bin string, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := binaryCommand(ctx, t, bin, env, args)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	return ended(t, Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}, err, bin, args)
}

// ended completes res with how the run of bin with args ended: err is what
// waiting for it returned; any error but an exit status fails the test.
func ended(t testing.TB, res Result, err error, bin string, args []string) Result {
	t.Helper()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitCode()
	default:
		t.Fatalf("run %s %s: %v", bin, strings.Join(args, " "), err)
	}
	return res
}

// binaryCommand is bin with args in a clean environment plus env (see
// RunBinary).
func binaryCommand(ctx context.Context, t testing.TB, bin string, env, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	// exec keeps the last of duplicate variables, so env can override.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "XDG_CONFIG_HOME=" + t.TempDir()}, env...)
	return cmd
}
