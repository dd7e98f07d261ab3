package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "iotjobs", "config.toml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPath(t *testing.T) {
	t.Setenv("HOME", "/home/op")
	for _, tt := range []struct{ xdg, want string }{
		{"/xdg", "/xdg/iotjobs/config.toml"},
		{"", "/home/op/.config/iotjobs/config.toml"},
		{"relative/dir", "/home/op/.config/iotjobs/config.toml"}, // the XDG spec says to ignore it
	} {
		t.Setenv("XDG_CONFIG_HOME", tt.xdg)
		got, err := Path()
		if err != nil || got != tt.want {
			t.Errorf("XDG_CONFIG_HOME=%q: %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
}

func TestStorePath(t *testing.T) {
	t.Setenv("HOME", "/home/op")
	for _, tt := range []struct{ xdg, want string }{
		{"/state", "/state/iotjobs/emulator.db"},
		{"", "/home/op/.local/state/iotjobs/emulator.db"},
		{"relative/dir", "/home/op/.local/state/iotjobs/emulator.db"},
	} {
		t.Setenv("XDG_STATE_HOME", tt.xdg)
		got, err := StorePath()
		if err != nil || got != tt.want {
			t.Errorf("XDG_STATE_HOME=%q: %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
}

func TestLoadMissingFileIsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Exists || len(f.Profiles) != 0 || f.Path != path {
		t.Fatalf("%+v", f)
	}
	_, err = f.Profile("lab")
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "[profiles.lab]") {
		t.Errorf("profile of a missing file: %v", err)
	}
}

func TestLoadProfilesAndPaths(t *testing.T) {
	t.Setenv("HOME", "/home/op")
	path := write(t, `default_profile = "lab"

[profiles.lab]
endpoint = "mqtt://127.0.0.1:1883"
thing = "lab-thing-1"

[profiles.prod-eu]
endpoint = "a1b2c3-ats.iot.eu-west-1.amazonaws.com"
thing = "my-thing"
client_id = "my-thing-operator"
cert = "~/certs/my-thing.cert.pem"
key = "certs/my-thing.private.key"
ca = "/etc/ssl/AmazonRootCA1.pem"
output = "json"
timeout = "30s"
emulator = "http://127.0.0.1:8084"

[profiles]
inline = { thing = "t-inline", endpoint = "mqtt://h:1" }
`)
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Exists || f.DefaultProfile != "lab" {
		t.Fatalf("%+v", f)
	}
	if got := strings.Join(f.Names(), ","); got != "inline,lab,prod-eu" {
		t.Errorf("names %s", got)
	}
	prod, err := f.Profile("prod-eu")
	if err != nil {
		t.Fatal(err)
	}
	want := Profile{
		Endpoint: "a1b2c3-ats.iot.eu-west-1.amazonaws.com", Thing: "my-thing", ClientID: "my-thing-operator",
		Cert: "/home/op/certs/my-thing.cert.pem", Key: filepath.Join(filepath.Dir(path), "certs/my-thing.private.key"),
		CA: "/etc/ssl/AmazonRootCA1.pem", Output: "json", Timeout: "30s", Emulator: "http://127.0.0.1:8084",
	}
	if prod != want {
		t.Errorf("prod-eu\n got %+v\nwant %+v", prod, want)
	}
	for _, key := range Keys() {
		if prod.Get(key) == "" {
			t.Errorf("Get(%q) is empty", key)
		}
	}
	for _, tt := range []struct {
		key  []string
		line int
	}{
		{[]string{"default_profile"}, 1},
		{[]string{"profiles", "lab"}, 3},
		{[]string{"profiles", "lab", "thing"}, 5},
		{[]string{"profiles", "prod-eu", "timeout"}, 15},
		{[]string{"profiles", "inline", "endpoint"}, 19},
		{[]string{"profiles", "nope"}, 0},
	} {
		if got := f.Line(tt.key...); got != tt.line {
			t.Errorf("line of %v: %d, want %d", tt.key, got, tt.line)
		}
	}
	if got := f.Where("profiles", "lab", "thing"); got != path+":5" {
		t.Errorf("Where: %s", got)
	}
}

func TestLoadErrorsNameFileAndLine(t *testing.T) {
	for _, tt := range []struct {
		name, content string
		line          int
		want          []string
	}{
		{"malformed", "[profiles.lab]\nthing = \"t1\"\nendpoint = mqtt://x\n", 3, []string{"malformed TOML"}},
		{"wrong type", "[profiles.lab]\n\nthing = 42\n", 3, []string{"profiles.lab.thing must be a string"}},
		{"timeout as a number", "[profiles.lab]\ntimeout = 10\n", 2, []string{"timeout"}},
		{"default names nothing", "default_profile = \"prod\"\n[profiles.lab]\n", 1, []string{`"prod" names no profile`, "defines lab"}},
		{"duplicate key", "[profiles.lab]\nthing = \"a\"\nthing = \"b\"\n", 3, []string{"malformed TOML"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, tt.content)
			_, err := Load(path)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want *Error", err, err)
			}
			if ce.Path != path || (tt.line != 0 && ce.Line != tt.line) {
				t.Errorf("at %s:%d, want %s:%d (%v)", ce.Path, ce.Line, path, tt.line, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not say %q", err, w)
				}
			}
		})
	}
}

// TestUnknownKeysSpoilOnlyTheirProfile: a profile with unknown keys is an
// error when used, with every key and its line; elsewhere it and stray
// top-level keys are warnings, and the other profiles load.
func TestUnknownKeysSpoilOnlyTheirProfile(t *testing.T) {
	path := write(t, "default = \"lab\"\n[profiles.lab]\nthing = \"t1\"\nthingy = \"t2\"\nkey_file = \"k\"\n[profiles.prod]\nthing = \"t3\"\n")
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := f.Profile("prod"); err != nil || p.Thing != "t3" {
		t.Fatalf("prod: %+v, %v", p, err)
	}
	_, err = f.Profile("lab")
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 4 || !strings.Contains(err.Error(), "unknown key profiles.lab.thingy, profiles.lab.key_file (line 5)") || !strings.Contains(err.Error(), "client_id") {
		t.Errorf("lab: %v", err)
	}
	var got []string
	for _, w := range f.Warnings("prod") {
		got = append(got, w.Error())
	}
	want := []string{
		path + ":1: unknown key default; a profile may set " + strings.Join(Keys(), ", ") + ", and the top level default_profile",
		path + ":4: unknown key profiles.lab.thingy, profiles.lab.key_file (line 5); a profile may set " + strings.Join(Keys(), ", ") + ", and the top level default_profile",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(f.Warnings("lab")) != 1 {
		t.Errorf("with lab in use, only the stray keys warn: %v", f.Warnings("lab"))
	}
}

func TestUnknownProfileListsTheDefinedOnes(t *testing.T) {
	f, err := Load(write(t, "[profiles.lab]\n[profiles.prod]\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Profile("staging")
	if err == nil || !strings.Contains(err.Error(), f.Path) || !strings.Contains(err.Error(), `no profile "staging"; the file defines lab, prod`) {
		t.Errorf("%v", err)
	}
}
