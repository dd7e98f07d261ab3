package cli_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

func TestVersion(t *testing.T) {
	r := iotjobs.Run(t, nil, "version", "-o", "JSON")
	testutil.WantExit(t, r, 0)
	var info struct{ Version, Go string }
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil || info.Version == "" || info.Go != runtime.Version() {
		t.Fatalf("version --json: %v\n%s", err, r)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := iotjobs.Run(t, nil, args...)
		testutil.WantExit(t, r, 0)
		if want := "iotjobs " + info.Version; !strings.HasPrefix(r.Stdout, want) || !strings.Contains(r.Stdout, info.Go) {
			t.Errorf("%v: %q, want it to start with %q and name %s", args, r.Stdout, want, info.Go)
		}
	}
}

// TestVerboseEverywhere: -v is --verbose on every command, before or after
// its name; the version is --version only.
func TestVerboseEverywhere(t *testing.T) {
	for _, args := range [][]string{
		{"-v", "get-pending", "-t", "thing-1", "-e", "mqtt://127.0.0.1:1", "--timeout", "1s"},
		{"get-pending", "-v", "-t", "thing-1", "-e", "mqtt://127.0.0.1:1", "--timeout", "1s"},
	} {
		r := iotjobs.Run(t, nil, args...)
		testutil.WantExit(t, r, 3)
		if !strings.Contains(r.Stderr, `* connecting to mqtt://127.0.0.1:1 as client id "thing-1"`) {
			t.Errorf("%v does not trace:\n%s", args, r)
		}
	}
	r := iotjobs.Run(t, nil, "version", "--json")
	testutil.WantExit(t, r, 0)
	if !strings.HasPrefix(r.Stdout, "{") || !strings.Contains(r.Stderr, "use -o json") {
		t.Errorf("version --json, deprecated:\n%s", r)
	}
}

// TestHelpListsConnectionFlagsApart: a device command's --help lists its
// own flags first and the connection flags it shares apart, as gh lists
// inherited flags; a control-plane verb has only its own.
func TestHelpListsConnectionFlagsApart(t *testing.T) {
	r := iotjobs.Run(t, nil, "describe", "--help")
	testutil.WantExit(t, r, 0)
	own, shared, ok := strings.Cut(r.Stdout, "\nConnection flags (shared by the device commands):\n")
	if !ok || !strings.Contains(own, "--execution-number N") || strings.Contains(own, "--endpoint") ||
		!strings.Contains(shared, "-e, --endpoint URL") || strings.Contains(shared, "--execution-number") {
		t.Errorf("describe --help:\n%s", r.Stdout)
	}
	r = iotjobs.Run(t, nil, "emulator", "list-jobs", "--help")
	if strings.Contains(r.Stdout, "Connection flags") || !strings.Contains(r.Stdout, "--emulator URL") {
		t.Errorf("list-jobs --help:\n%s", r.Stdout)
	}
}
