package cli_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/testutil"
)

func TestVersion(t *testing.T) {
	r := iotjobs.Run(t, nil, "version", "--json")
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
