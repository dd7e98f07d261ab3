// Package build carries the version information stamped at link time by
// goreleaser (-ldflags -X), with the module's build info as a fallback.
package build

import (
	"runtime"
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

// Details is what `iotjobs version --verbose` adds: where and from what the
// binary was built, for a bug report.
type Details struct {
	Info
	Platform string `json:"platform"`
	// Modified: built from a checkout with uncommitted changes.
	Modified     bool     `json:"modified,omitempty"`
	Module       string   `json:"module,omitempty"`
	Dependencies []Module `json:"dependencies"`
}

// Module is one module linked into the binary.
type Module struct {
	Path    string `json:"path"`
	Version string `json:"version"`
}

// ReadDetails is Read and the rest of the binary's build info.
func ReadDetails() Details {
	d := Details{Info: Read(), Platform: runtime.GOOS + "/" + runtime.GOARCH, Dependencies: []Module{}}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return d
	}
	d.Module = bi.Main.Path
	for _, s := range bi.Settings {
		if s.Key == "vcs.modified" {
			d.Modified = s.Value == "true"
		}
	}
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		d.Dependencies = append(d.Dependencies, Module{Path: m.Path, Version: m.Version})
	}
	return d
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
