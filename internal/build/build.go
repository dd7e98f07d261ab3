// Package build carries the version information stamped at link time by
// goreleaser (-ldflags -X), with the module's build info as a fallback.
package build

import (
	"runtime/debug"
	"strings"
)

// Set by -ldflags "-X github.com/iotjobs/iotjobs/internal/build.Version=..."
// at release time; they stay empty in development builds.
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// Info is what `iotjobs version` prints.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit,omitempty"`
	Date    string `json:"date,omitempty"`
	Go      string `json:"go"`
}

// Read returns the stamped values, filling what is missing from the
// binary's build info (module version under `go install`, VCS revision and
// time when built from a checkout).
func Read() Info {
	info := Info{Version: Version, Commit: Commit, Date: Date}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		info.Go = bi.GoVersion
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.Date == "":
				info.Date = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	info.Version = strings.TrimPrefix(info.Version, "v")
	return info
}

// String is the one-line form used by --version.
func (i Info) String() string {
	s := "iotjobs " + i.Version
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (" + c
		if i.Date != "" {
			s += ", " + i.Date
		}
		s += ")"
	}
	return s + " " + i.Go
}
