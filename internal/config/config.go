// Package config reads the user's profiles file,
// $XDG_CONFIG_HOME/iotjobs/config.toml: named sets of connection settings,
// so that an operator need not repeat endpoint, thing and certificate paths
// on every command. It knows the file format only; which layer wins over
// which (flag, environment, profile, default) is the cli's business. It
// also places the user's other file, the emulator's default store, by the
// same XDG rules.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Profile is one [profiles.NAME] table. Values are as written, except that
// the cert, key and ca paths are resolved (~ and relative paths) on Load.
// Nothing here is checked beyond its TOML type: the cli validates each value
// the same way whichever layer it came from.
type Profile struct {
	Endpoint string `toml:"endpoint"`
	Thing    string `toml:"thing"`
	ClientID string `toml:"client_id"`
	Cert     string `toml:"cert"`
	Key      string `toml:"key"`
	CA       string `toml:"ca"`
	Output   string `toml:"output"`
	Timeout  string `toml:"timeout"`
	// Emulator is the control plane of the emulator verbs (--emulator).
	Emulator string `toml:"emulator"`
}

// Keys are the keys a profile may hold, in the order `config show` lists
// them.
func Keys() []string {
	return []string{"endpoint", "thing", "client_id", "cert", "key", "ca", "output", "timeout", "emulator"}
}

// Get returns the value of one of Keys, "" when it is not set.
func (p Profile) Get(key string) string {
	switch key {
	case "endpoint":
		return p.Endpoint
	case "thing":
		return p.Thing
	case "client_id":
		return p.ClientID
	case "cert":
		return p.Cert
	case "key":
		return p.Key
	case "ca":
		return p.CA
	case "output":
		return p.Output
	case "timeout":
		return p.Timeout
	case "emulator":
		return p.Emulator
	}
	return ""
}

// document is the file's TOML shape.
type document struct {
	DefaultProfile string             `toml:"default_profile"`
	Profiles       map[string]Profile `toml:"profiles"`
}

// File is the loaded profiles file.
type File struct {
	// Path is the file read, or looked for when it does not exist.
	Path string
	// Exists is false when there is no file at Path, which is not an error:
	// profiles are optional.
	Exists bool
	// DefaultProfile is the profile used when none is named.
	DefaultProfile string
	Profiles       map[string]Profile

	// lines maps a dotted key ("profiles.lab.thing") to the line that sets
	// it, so that errors found later in a value can point at it.
	lines map[string]int
	// broken are the profiles with unknown keys: an error when used (Profile),
	// a warning otherwise (Warnings).
	broken map[string]*Error
	// stray is the problem of unknown top-level keys, a warning; nil when none.
	stray *Error
}

// Error is a problem in the file, at a line when one is known.
type Error struct {
	Path string
	Line int // 0 when the problem is not on one line
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// Path is where the profiles file lives: $XDG_CONFIG_HOME/iotjobs/config.toml,
// or ~/.config/iotjobs/config.toml when XDG_CONFIG_HOME is unset or, as the
// XDG spec asks, not an absolute path.
func Path() (string, error) {
	dir, err := baseDir("XDG_CONFIG_HOME", ".config")
	if err != nil {
		return "", fmt.Errorf("cannot find the profiles file: neither XDG_CONFIG_HOME nor HOME is set")
	}
	return filepath.Join(dir, "iotjobs", "config.toml"), nil
}

// HistoryPath is the shell's line history:
// $XDG_STATE_HOME/iotjobs/shell_history.
func HistoryPath() (string, error) {
	dir, err := baseDir("XDG_STATE_HOME", filepath.Join(".local", "state"))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "iotjobs", "shell_history"), nil
}

// StorePath is the emulator's default store: $XDG_STATE_HOME/iotjobs/emulator.db,
// or ~/.local/state/iotjobs/emulator.db when XDG_STATE_HOME is unset or not
// an absolute path.
func StorePath() (string, error) {
	dir, err := baseDir("XDG_STATE_HOME", filepath.Join(".local", "state"))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "iotjobs", "emulator.db"), nil
}

// baseDir is the XDG base directory named by env when it is an absolute
// path (the specification says to ignore a relative one), else the
// directory fallback under the home directory.
func baseDir(env, fallback string) (string, error) {
	if dir := os.Getenv(env); filepath.IsAbs(dir) {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, fallback), nil
}

// Load reads the profiles file at path. A missing file gives an empty File
// with Exists false. Malformed TOML, values of the wrong type and a
// default_profile that names no profile are *Error with the line. Unknown
// keys are not: Profile reports those of the profile asked for, Warnings
// the others.
func Load(path string) (*File, error) {
	f := &File{Path: path}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the profiles file: %w", err)
	}
	f.Exists = true
	var doc document
	if err := toml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, f.decodeError(err)
	}
	// Unknown keys spoil only their profile: a typo in one must not stop
	// the commands that use another.
	var strict *toml.StrictMissingError
	if err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&document{}); errors.As(err, &strict) {
		f.unknownKeys(strict)
	}
	f.DefaultProfile, f.Profiles = doc.DefaultProfile, doc.Profiles
	// The decode succeeded, so the document parses: indexing cannot fail.
	f.lines = keyLines(data)
	if f.DefaultProfile != "" {
		if _, ok := f.Profiles[f.DefaultProfile]; !ok {
			return nil, &Error{Path: path, Line: f.Line("default_profile"),
				Msg: fmt.Sprintf("default_profile %q names no profile; %s", f.DefaultProfile, f.defined())}
		}
	}
	home, _ := os.UserHomeDir() // only needed for "~", reported below if missing
	for name, p := range f.Profiles {
		for _, field := range []*string{&p.Cert, &p.Key, &p.CA} {
			resolved, err := resolvePath(*field, filepath.Dir(path), home)
			if err != nil {
				return nil, &Error{Path: path, Line: f.Line("profiles", name), Msg: err.Error()}
			}
			*field = resolved
		}
		f.Profiles[name] = p
	}
	return f, nil
}

// unknownKeys files each unknown key under its profile (broken), or as a
// stray top-level key; every one is listed, with its line.
func (f *File) unknownKeys(strict *toml.StrictMissingError) {
	type found struct {
		keys  []string
		first int
	}
	byProfile := map[string]*found{}
	var order []string
	for _, e := range strict.Errors {
		key, profile := e.Key(), ""
		if len(key) > 2 && key[0] == "profiles" {
			profile = key[1]
		}
		g := byProfile[profile]
		if g == nil {
			g = &found{}
			g.first, _ = e.Position()
			byProfile[profile] = g
			order = append(order, profile)
		}
		name := strings.Join(key, ".")
		if line, _ := e.Position(); line != g.first {
			name += fmt.Sprintf(" (line %d)", line)
		}
		g.keys = append(g.keys, name)
	}
	f.broken = map[string]*Error{}
	for _, profile := range order {
		g := byProfile[profile]
		err := &Error{Path: f.Path, Line: g.first, Msg: fmt.Sprintf("unknown key %s; a profile may set %s, and the top level default_profile",
			strings.Join(g.keys, ", "), strings.Join(Keys(), ", "))}
		if profile == "" {
			f.stray = err
		} else {
			f.broken[profile] = err
		}
	}
}

// Warnings are the problems of the file that do not concern the profile in
// use (inUse, "" for none): unknown keys in other profiles and at the top
// level, which are ignored.
func (f *File) Warnings(inUse string) []*Error {
	var warnings []*Error
	if f.stray != nil {
		warnings = append(warnings, f.stray)
	}
	for _, name := range f.Names() {
		if err := f.broken[name]; err != nil && name != inUse {
			warnings = append(warnings, err)
		}
	}
	return warnings
}

// decodeError turns go-toml's errors into an *Error with the line.
func (f *File) decodeError(err error) error {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		// go-toml names Go types in a type mismatch; the user wrote TOML.
		if strings.Contains(de.Error(), "cannot decode TOML") && key != "" {
			return &Error{Path: f.Path, Line: line, Msg: key + " must be a string, in quotes"}
		}
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if key != "" {
			msg = key + ": " + msg
		}
		return &Error{Path: f.Path, Line: line, Msg: "malformed TOML: " + msg}
	}
	return &Error{Path: f.Path, Msg: err.Error()}
}

// keyLines indexes the line of every table header and key in data, with
// the full dotted path, including keys of inline tables.
func keyLines(data []byte) map[string]int {
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	var visit func(prefix []string, kv *unstable.Node)
	visit = func(prefix []string, kv *unstable.Node) {
		key, line := appendKey(&p, prefix, kv.Key())
		lines[strings.Join(key, ".")] = line
		if v := kv.Value(); v.Kind == unstable.InlineTable {
			for it := v.Children(); it.Next(); {
				visit(key, it.Node())
			}
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			var line int
			table, line = appendKey(&p, nil, e.Key())
			lines[strings.Join(table, ".")] = line
		case unstable.KeyValue:
			visit(table, e)
		}
	}
	return lines
}

// appendKey returns prefix followed by the parts of a (dotted) key, and the
// line where the key starts: key nodes carry their position, the
// expressions holding them do not.
func appendKey(p *unstable.Parser, prefix []string, it unstable.Iterator) (key []string, line int) {
	key = slices.Clone(prefix)
	for it.Next() {
		if line == 0 {
			line = p.Shape(it.Node().Raw).Start.Line
		}
		key = append(key, string(it.Node().Data))
	}
	return key, line
}

// Line is the line that sets the dotted key, or 0.
func (f *File) Line(key ...string) int { return f.lines[strings.Join(key, ".")] }

// Where names the file and the line of a key, for error messages:
// "/home/me/.config/iotjobs/config.toml:4".
func (f *File) Where(key ...string) string {
	if line := f.Line(key...); line > 0 {
		return fmt.Sprintf("%s:%d", f.Path, line)
	}
	return f.Path
}

// Names are the profile names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Profiles))
	for name := range f.Profiles {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Profile returns the named profile, or an error naming the file and the
// profiles it defines.
func (f *File) Profile(name string) (Profile, error) {
	if !f.Exists {
		return Profile{}, &Error{Path: f.Path, Msg: fmt.Sprintf("no such file, so no profile %q; create it with a [profiles.%s] table", name, name)}
	}
	p, ok := f.Profiles[name]
	if !ok {
		return Profile{}, &Error{Path: f.Path, Msg: fmt.Sprintf("no profile %q; %s", name, f.defined())}
	}
	if err := f.broken[name]; err != nil {
		return Profile{}, err
	}
	return p, nil
}

func (f *File) defined() string {
	if len(f.Profiles) == 0 {
		return "the file defines none"
	}
	return "the file defines " + strings.Join(f.Names(), ", ")
}

// resolvePath expands a leading ~ to home and makes a relative path
// relative to dir, the config file's directory, so that a profile means the
// same files whatever the working directory.
func resolvePath(path, dir, home string) (string, error) {
	switch {
	case path == "":
		return "", nil
	case path == "~" || strings.HasPrefix(path, "~/"):
		if home == "" {
			return "", fmt.Errorf("cannot expand %q: HOME is not set", path)
		}
		return filepath.Join(home, path[1:]), nil
	case filepath.IsAbs(path):
		return path, nil
	}
	return filepath.Join(dir, path), nil
}
