package build

import (
	"runtime"
	"testing"
)

// TestStampedValuesWin: what goreleaser stamps with -ldflags -X comes out
// as given (less the tag's "v"), before anything from the build info.
func TestStampedValuesWin(t *testing.T) {
	saved := [3]string{Version, Commit, Date}
	t.Cleanup(func() { Version, Commit, Date = saved[0], saved[1], saved[2] })
	Version, Commit, Date = "v1.2.3", "0123456789abcdef0123", "2026-11-01T00:00:00Z"
	info := Read()
	if info.Version != "1.2.3" || info.Commit != Commit || info.Date != Date || info.Go != runtime.Version() {
		t.Fatalf("Read() = %+v", info)
	}
	if got, want := info.String(), "iotjobs 1.2.3 (0123456789ab, 2026-11-01T00:00:00Z) "+runtime.Version(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDevelopmentBuild(t *testing.T) {
	if Version != "" {
		t.Skip("a stamped build")
	}
	if got := Read().Version; got == "" {
		t.Error("an unstamped build must still name a version")
	}
}
