package testutil

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/iotapi"
)

// This file holds what the command groups' end-to-end tests share: the
// binary built once per test package, and checks of a run.

// Binary is the iotjobs binary that a test package runs as a process,
// built once by Main, its TestMain.
type Binary struct {
	// Path is the built binary, set by Main.
	Path string
}

// Main builds cmd/iotjobs once into a temporary directory, runs the tests
// and exits with their code. Call it from TestMain.
func (b *Binary) Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "iotjobs-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b.Path, err = BuildBinary(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Run runs the binary to its end (see RunBinary).
func (b *Binary) Run(t testing.TB, env []string, args ...string) Result {
	t.Helper()
	return RunBinary(t, b.Path, env, args...)
}

// WantExit fails the test unless the run ended with code.
func WantExit(t testing.TB, r Result, code int) {
	t.Helper()
	if r.ExitCode != code {
		t.Fatalf("exit %d, want %d\n%s", r.ExitCode, code, r)
	}
}

// Reply decodes the one JSON line a command printed on stdout.
func Reply(t testing.TB, r Result) map[string]any {
	t.Helper()
	if strings.Count(r.Stdout, "\n") != 1 || !strings.HasSuffix(r.Stdout, "\n") {
		t.Fatalf("stdout is not one line:\n%s", r)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &m); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r)
	}
	return m
}

// Path digs a value out of decoded JSON: Path(m, "execution", "status").
func Path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[k]
	}
	return v
}

// WriteFile writes content to path, readable by the owner only.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// WriteProfiles writes a profiles file into a fresh XDG_CONFIG_HOME and
// returns the variable to pass and the file's path.
func WriteProfiles(t testing.TB, content string) (env, path string) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "iotjobs", "config.toml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	WriteFile(t, path, content)
	return "XDG_CONFIG_HOME=" + dir, path
}

// CreateJob creates a job with one target directly in the emulator's engine.
func CreateJob(t testing.TB, emu *Emulator, jobID, thing, doc string) {
	t.Helper()
	if _, err := emu.Engine().CreateJob(iotapi.CreateJobInput{JobID: jobID, Targets: []string{thing}, Document: doc}); err != nil {
		t.Fatalf("create job %s: %v", jobID, err)
	}
}

// IsolateFromUserSettings keeps a developer's IOTJOBS_* variables and
// profiles out of a test that runs the command tree in its own process.
func IsolateFromUserSettings(t *testing.T) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "IOTJOBS_") {
			t.Setenv(name, "")
		}
	}
}
