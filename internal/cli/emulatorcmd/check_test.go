package emulatorcmd_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

// fixture copies the first release's store (see the store package's
// tests) into a temporary file, cut to n bytes when n > 0.
func fixture(t *testing.T, n int) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "emulator", "store", "testdata", "store-v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		data = data[:n]
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	testutil.WriteFile(t, path, string(data))
	return path
}

func TestCheckAndDamagedStores(t *testing.T) {
	sound := fixture(t, 0)
	r := iotjobs.Run(t, nil, "emulator", "check", "--data", sound, "-o", "pretty", "--no-color")
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stdout, "schema 1, 3 jobs, 6 executions") || !strings.HasSuffix(r.Stdout, "sound\n") || r.Stderr != "" {
		t.Errorf("check of a sound store:\n%s", r)
	}
	// Piped, the report is JSON as every command's output is; -v says what
	// was read on stderr; the old --json still works, with a note.
	r = iotjobs.Run(t, nil, "emulator", "check", "--data", sound, "-v")
	testutil.WantExit(t, r, 0)
	if m := testutil.Reply(t, r); m["sound"] != true || m["jobs"] != 3.0 ||
		!strings.Contains(r.Stderr, "reading "+sound+" read-only: 65536 bytes") || !strings.Contains(r.Stderr, "checked in ") {
		t.Errorf("check -v piped:\n%s", r)
	}
	r = iotjobs.Run(t, []string{"IOTJOBS_OUTPUT=pretty"}, "emulator", "check", "--data", sound, "--json")
	testutil.WantExit(t, r, 0)
	if m := testutil.Reply(t, r); m["sound"] != true || !strings.Contains(r.Stderr, "--json is deprecated: use -o json") {
		t.Errorf("check --json:\n%s", r)
	}
	r = iotjobs.Run(t, []string{"IOTJOBS_OUTPUT=yaml"}, "emulator", "check", "--data", sound)
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, `invalid IOTJOBS_OUTPUT "yaml": use pretty or json`) {
		t.Errorf("check with a bad IOTJOBS_OUTPUT:\n%s", r)
	}

	truncated := fixture(t, 3*4096)
	r = iotjobs.Run(t, nil, "emulator", "check", "--data", truncated, "-o", "JSON")
	testutil.WantExit(t, r, 1)
	if m := testutil.Reply(t, r); m["sound"] != false || len(m["problems"].([]any)) == 0 {
		t.Errorf("check of a truncated store:\n%s", r)
	}
	// The emulator refuses it with a message, not a crash.
	r = iotjobs.Run(t, nil, "emulator", "--data", truncated, "--mqtt", "127.0.0.1:0", "--http", "")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stderr, "the store "+truncated+" is damaged") || !strings.Contains(r.Stderr, "iotjobs emulator check --data "+truncated) ||
		strings.Contains(r.Stderr, "goroutine ") {
		t.Errorf("emulator on a truncated store:\n%s", r)
	}

	empty := filepath.Join(t.TempDir(), "empty.db")
	testutil.WriteFile(t, empty, "")
	r = iotjobs.Run(t, nil, "emulator", "--data", empty, "--mqtt", "127.0.0.1:0", "--http", "")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stderr, "is empty (0 bytes)") {
		t.Errorf("emulator on an empty file:\n%s", r)
	}
	testutil.WantExit(t, iotjobs.Run(t, nil, "emulator", "check", "--data", ":memory:"), 2)
	r = iotjobs.Run(t, nil, "emulator", "check", "--data", empty)
	testutil.WantExit(t, r, 1)
	if m := testutil.Reply(t, r); m["sound"] != false || !strings.Contains(fmt.Sprint(m["problems"]), "is empty (0 bytes)") {
		t.Errorf("check of an empty file:\n%s", r)
	}
}

// TestCheckWhatIsNotAStore: a store that is not there, or that a running
// emulator holds, is not called damaged: check says why it cannot read it
// and prints no report.
func TestCheckWhatIsNotAStore(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.db")
	r := iotjobs.Run(t, nil, "emulator", "check", "--data", missing)
	testutil.WantExit(t, r, 1)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "there is no store at "+missing) || strings.Contains(r.Stderr, "damaged") {
		t.Errorf("check of a missing file:\n%s", r)
	}
	emu := testutil.StartEmulator(t, testutil.WithTempDataPath(t))
	testutil.CreateJob(t, emu, "job-1", "thing-1", "{}")
	r = iotjobs.Run(t, nil, "emulator", "check", "--data", emu.DataPath)
	testutil.WantExit(t, r, 1)
	if r.Stdout != "" || !strings.Contains(r.Stderr, "the file is locked by another process (a running emulator? stop it first)") || strings.Contains(r.Stderr, "damaged") {
		t.Errorf("check of a running emulator's store:\n%s", r)
	}
}

// TestFullDiskLeavesNoFile: a store whose creation fails for want of space
// (here RLIMIT_FSIZE, which fails writes with EFBIG as a full disk fails
// them with ENOSPC) is not left behind as a 0-byte or partial file, and the
// message names the file and what to do.
func TestFullDiskLeavesNoFile(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash for ulimit")
	}
	path := filepath.Join(t.TempDir(), "new.db")
	r := testutil.RunBinary(t, bash, nil, "-c", `ulimit -f 4 && exec "$0" "$@"`, iotjobs.Path,
		"emulator", "--data", path, "--mqtt", "127.0.0.1:0", "--http", "")
	testutil.WantExit(t, r, 1)
	if !strings.Contains(r.Stderr, path) || !strings.Contains(r.Stderr, "file too large") ||
		!strings.Contains(r.Stderr, "hint: the disk (or a quota or file size limit) is full; nothing was left behind") {
		t.Errorf("emulator on a full disk:\n%s", r)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed store was left behind: %v", err)
	}
}

// TestCheckSaysADamagedPageOnce: a page that is not what it claims to be
// is one problem, said as damage, not also as the panic bbolt's check
// recovered from.
func TestCheckSaysADamagedPageOnce(t *testing.T) {
	emu := testutil.StartEmulator(t, testutil.WithTempDataPath(t))
	for _, id := range []string{"j1", "j2", "j3"} {
		testutil.CreateJob(t, emu, id, "thing-1", `{}`)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	path := emu.DataPath
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(strings.Repeat("\xde\xad\xbe\xef", 64)), 2*4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := iotjobs.Run(t, nil, "emulator", "check", "--data", path, "-o", "json")
	testutil.WantExit(t, r, 1)
	problems, _ := testutil.Reply(t, r)["problems"].([]any)
	if len(problems) != 1 || !strings.Contains(fmt.Sprint(problems[0]), "the store "+path+" is damaged: ") {
		t.Errorf("a damaged page:\n%s", r)
	}
}
