package configcmd_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/mqttclient/mqtttest"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

type shownSetting struct {
	Value  string `json:"value"`
	Source string `json:"source"`
	Where  string `json:"where"`
}

type shown struct {
	File struct {
		Path   string `json:"path"`
		Exists bool   `json:"exists"`
	} `json:"file"`
	Profile *struct {
		Name string `json:"name"`
		By   string `json:"by"`
	} `json:"profile"`
	Settings map[string]shownSetting `json:"settings"`
}

func configShow(t *testing.T, env []string, args ...string) shown {
	t.Helper()
	r := iotjobs.Run(t, env, append([]string{"config", "show"}, args...)...)
	testutil.WantExit(t, r, 0)
	var s shown
	if err := json.Unmarshal([]byte(r.Stdout), &s); err != nil {
		t.Fatalf("config show is not JSON: %v\n%s", err, r)
	}
	return s
}

// The profile of the precedence tests sets every setting; the lines
// matter, config show reports them.
const precedenceProfiles = `[profiles.p]
thing = "profile-thing"
endpoint = "mqtt://profile-host:1883"
client_id = "profile-client"
timeout = "30s"
output = "json"
`

// TestProfilePrecedence walks the layers flag > env > profile > default:
// each layer alone, and each overriding the one below it.
func TestProfilePrecedence(t *testing.T) {
	xdg, file := testutil.WriteProfiles(t, precedenceProfiles)
	for _, tt := range []struct {
		name    string
		env     []string
		args    []string
		setting string
		value   string
		source  string
		where   string
	}{
		{"default alone", nil, nil, "endpoint", "mqtt://127.0.0.1:1883", "default", ""},
		{"default timeout", nil, nil, "timeout", "10s", "default", ""},
		{"profile over default", nil, []string{"--profile", "p"}, "endpoint", "mqtt://profile-host:1883", "profile", file + ":3"},
		{"profile timeout", nil, []string{"--profile", "p"}, "timeout", "30s", "profile", file + ":5"},
		{"profile client id", nil, []string{"--profile", "p"}, "client-id", "profile-client", "profile", file + ":4"},
		{"env alone", []string{"IOTJOBS_THING=env-thing"}, nil, "thing", "env-thing", "env", "IOTJOBS_THING"},
		{"env over profile", []string{"IOTJOBS_THING=env-thing"}, []string{"--profile", "p"}, "thing", "env-thing", "env", "IOTJOBS_THING"},
		{"env timeout over profile", []string{"IOTJOBS_TIMEOUT=1m"}, []string{"--profile", "p"}, "timeout", "1m0s", "env", "IOTJOBS_TIMEOUT"},
		{"profile output", nil, []string{"--profile", "p"}, "output", "json", "profile", file + ":6"},
		{"env output over profile", []string{"IOTJOBS_OUTPUT=json"}, []string{"--profile", "p"}, "output", "json", "env", "IOTJOBS_OUTPUT"},
		{"flag output over env", []string{"IOTJOBS_OUTPUT=pretty"}, []string{"-o", "json"}, "output", "json", "flag", ""},
		{"flag over env and profile", []string{"IOTJOBS_THING=env-thing"}, []string{"--profile", "p", "-t", "flag-thing"}, "thing", "flag-thing", "flag", ""},
		{"flag over profile", nil, []string{"--profile", "p", "--client-id", "flag-client"}, "client-id", "flag-client", "flag", ""},
		{"flag over env", []string{"IOTJOBS_ENDPOINT=mqtt://env-host:1"}, []string{"-e", "mqtt://flag-host:2"}, "endpoint", "mqtt://flag-host:2", "flag", ""},
		{"client id defaults to the thing", nil, []string{"-t", "x"}, "client-id", "x", "default", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// config show prints JSON: stdout is not a terminal, and the
			// output setting, which it follows, is json where it is set.
			s := configShow(t, append([]string{xdg}, tt.env...), tt.args...)
			got := s.Settings[tt.setting]
			if got.Value != tt.value || got.Source != tt.source || got.Where != tt.where {
				t.Errorf("%s = %+v, want %q from %s %s", tt.setting, got, tt.value, tt.source, tt.where)
			}
		})
	}
}

// TestProfileSelection: --profile over IOTJOBS_PROFILE over default_profile;
// an empty --profile uses none.
func TestProfileSelection(t *testing.T) {
	xdg, file := testutil.WriteProfiles(t, `default_profile = "a"
[profiles.a]
thing = "thing-a"
[profiles.b]
thing = "thing-b"
[profiles.c]
thing = "thing-c"
`)
	for _, tt := range []struct {
		name    string
		env     []string
		args    []string
		profile string
		by      string
	}{
		{"default_profile", nil, nil, "a", "default_profile in " + file + ":1"},
		{"env over default", []string{"IOTJOBS_PROFILE=b"}, nil, "b", "IOTJOBS_PROFILE"},
		{"flag over env", []string{"IOTJOBS_PROFILE=b"}, []string{"--profile", "c"}, "c", "--profile"},
		{"empty flag: none", []string{"IOTJOBS_PROFILE=b"}, []string{"--profile", ""}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := configShow(t, append([]string{xdg}, tt.env...), tt.args...)
			if tt.profile == "" {
				if s.Profile != nil || s.Settings["thing"].Value != "" {
					t.Errorf("a profile is in use: %+v, thing %+v", s.Profile, s.Settings["thing"])
				}
				return
			}
			if s.Profile == nil || s.Profile.Name != tt.profile || s.Profile.By != tt.by {
				t.Fatalf("profile %+v, want %s by %s", s.Profile, tt.profile, tt.by)
			}
			if got := s.Settings["thing"].Value; got != "thing-"+tt.profile {
				t.Errorf("thing %q", got)
			}
		})
	}
}

// TestVerboseSaysWhatIsOverridden: -v on config show and list names, on
// stderr, each value of a lower layer that the one in use hides, with its
// file:line, so "my variable does nothing" explains itself; stdout is
// unchanged.
func TestVerboseSaysWhatIsOverridden(t *testing.T) {
	xdg, file := testutil.WriteProfiles(t, "default_profile = \"p\"\n"+precedenceProfiles+"[profiles.q]\nthing = \"q-thing\"\n")
	env := []string{xdg, "IOTJOBS_THING=env-thing", "IOTJOBS_ENDPOINT=mqtt://env-host:1"}
	r := iotjobs.Run(t, env, "config", "show", "-e", "mqtt://flag-host:2", "-v", "--no-color")
	testutil.WantExit(t, r, 0)
	for _, want := range []string{
		"profile: p, by default_profile in " + file + ":1\n",
		`thing: thing = "profile-thing" of profile p (` + file + `:3) is overridden by IOTJOBS_THING` + "\n",
		"endpoint: IOTJOBS_ENDPOINT=mqtt://env-host:1 is overridden by the flag --endpoint\n",
		`endpoint: endpoint = "mqtt://profile-host:1883" of profile p (` + file + `:4) is overridden by the flag --endpoint` + "\n",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("config show -v: no %q in\n%s", want, r)
		}
	}
	if strings.Contains(r.Stderr, "client-id:") || strings.Contains(r.Stdout, "overridden") {
		t.Errorf("config show -v: a value not overridden is named, or the trace went to stdout:\n%s", r)
	}
	r = iotjobs.Run(t, []string{xdg, "IOTJOBS_PROFILE=p"}, "config", "list", "--profile", "q", "-v")
	testutil.WantExit(t, r, 0)
	if r.Stderr != "profile: q, by --profile\n  overrides IOTJOBS_PROFILE=p\n  overrides default_profile p ("+file+":1)\n" {
		t.Errorf("config list -v:\n%s", r)
	}
	r = iotjobs.Run(t, []string{xdg}, "config", "show", "--profile", "", "-v")
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stderr, "profile: none in use\n") || !strings.Contains(r.Stderr, "no setting overrides another\n") {
		t.Errorf("config show -v without a profile:\n%s", r)
	}
}

// TestProfileDrivesDeviceCommands checks that the device commands, not only
// config show, connect with the layers resolved: the profile names the
// emulator, and an environment variable or a flag pointing elsewhere wins.
func TestProfileDrivesDeviceCommands(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-p", "profile-thing", `{"op":"x"}`)
	testutil.CreateJob(t, emu, "job-f", "flag-thing", `{"op":"x"}`)
	xdg, _ := testutil.WriteProfiles(t, "[profiles.emu]\nthing = \"profile-thing\"\nendpoint = \""+emu.Endpoint+"\"\ntimeout = \"5s\"\n"+
		"[profiles.dead]\nthing = \"profile-thing\"\nendpoint = \"mqtt://127.0.0.1:1\"\n")

	r := iotjobs.Run(t, []string{xdg, "IOTJOBS_PROFILE=emu"}, "get-pending")
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stdout, `"jobId":"job-p"`) {
		t.Errorf("the profile's thing was not used:\n%s", r)
	}
	// A flag over the profile's thing.
	r = iotjobs.Run(t, []string{xdg}, "get-pending", "--profile", "emu", "-t", "flag-thing")
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stdout, `"jobId":"job-f"`) {
		t.Errorf("the flag's thing was not used:\n%s", r)
	}
	// The environment over a profile whose endpoint is dead.
	r = iotjobs.Run(t, []string{xdg, "IOTJOBS_ENDPOINT=" + emu.Endpoint}, "describe", "job-p", "--profile", "dead")
	testutil.WantExit(t, r, 0)
	// And the profile's dead endpoint when nothing overrides it.
	testutil.WantExit(t, iotjobs.Run(t, []string{xdg}, "get-pending", "--profile", "dead", "--timeout", "2s"), 3)
}

// TestProfileErrorsSendNothing: every problem with the profiles file or the
// profile's values exits 2, names the file (and the line when there is
// one), and publishes nothing.
func TestProfileErrorsSendNothing(t *testing.T) {
	b := mqtttest.Start(t, mqtttest.Options{})
	ep := "mqtt://" + b.Addr
	good := "[profiles.lab]\nthing = \"t1\"\nendpoint = \"" + ep + "\"\n"
	missingXDG := "XDG_CONFIG_HOME=" + t.TempDir()
	for _, tt := range []struct {
		name, content string
		env           []string
		args          []string
		want          []string // in stderr; @FILE@ is the file's path
	}{
		{"unknown profile", good, nil, []string{"--profile", "prod"}, []string{"@FILE@: no profile \"prod\"; the file defines lab", "--profile"}},
		{"unknown profile from env", good, []string{"IOTJOBS_PROFILE=prod"}, nil, []string{"@FILE@", "IOTJOBS_PROFILE"}},
		{"unknown key", good + "thingy = \"x\"\n", nil, []string{"--profile", "lab"}, []string{"@FILE@:4: unknown key profiles.lab.thingy"}},
		{"malformed", "[profiles.lab\nthing = \"t1\"\n", nil, []string{"-t", "t1", "-e", ep}, []string{"@FILE@:1: malformed TOML"}},
		{"wrong type", "[profiles.lab]\ntimeout = 10\n", nil, []string{"-t", "t1", "-e", ep}, []string{"@FILE@:2: profiles.lab.timeout must be a string"}},
		{"default names nothing", "default_profile = \"x\"\n" + good, nil, []string{"-e", ep}, []string{"@FILE@:1: default_profile \"x\" names no profile"}},
		{"bad thing in profile", "[profiles.lab]\nendpoint = \"" + ep + "\"\nthing = \"a/b\"\n", nil, []string{"--profile", "lab"}, []string{"invalid thing name", "profile \"lab\" at @FILE@:3"}},
		{"bad timeout in profile", good + "timeout = \"soon\"\n", nil, []string{"--profile", "lab"}, []string{"invalid timeout \"soon\"", "@FILE@:4"}},
		{"bad endpoint in profile", "[profiles.lab]\nthing = \"t1\"\nendpoint = \"ws://x\"\n", nil, []string{"--profile", "lab"}, []string{"invalid endpoint", "@FILE@:3"}},
		{"missing file with --profile", "", []string{missingXDG}, []string{"--profile", "lab", "-t", "t1", "-e", ep}, []string{"no such file, so no profile \"lab\""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env, file := []string{}, ""
			if tt.content != "" {
				var xdg string
				xdg, file = testutil.WriteProfiles(t, tt.content)
				env = append(env, xdg)
			}
			r := iotjobs.Run(t, append(env, tt.env...), append([]string{"get-pending"}, tt.args...)...)
			testutil.WantExit(t, r, 2)
			for _, w := range tt.want {
				if w = strings.ReplaceAll(w, "@FILE@", file); !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.Stderr)
				}
			}
			if r.Stdout != "" {
				t.Errorf("stdout %q", r.Stdout)
			}
		})
	}
	if n := len(b.Published()); n != 0 {
		t.Errorf("the broker saw %d publishes, want none", n)
	}
}

// TestBrokenProfileNotInUseWarns: unknown keys in a profile the command
// does not use are a warning naming file:line, and the command goes on.
func TestBrokenProfileNotInUseWarns(t *testing.T) {
	emu := testutil.StartEmulator(t)
	xdg, file := testutil.WriteProfiles(t, "[profiles.old]\nthingy = \"x\"\n[profiles.lab]\nthing = \"t1\"\nendpoint = \""+emu.Endpoint+"\"\n")
	for _, args := range [][]string{{"--profile", "lab"}, {"-t", "t1", "-e", emu.Endpoint}} {
		r := iotjobs.Run(t, []string{xdg}, append([]string{"get-pending"}, args...)...)
		testutil.WantExit(t, r, 0)
		if !strings.Contains(r.Stderr, "warning: "+file+":2: unknown key profiles.old.thingy") || !strings.Contains(r.Stderr, "(ignored: not in the profile in use)") {
			t.Errorf("%v: no warning:\n%s", args, r)
		}
	}
	r := iotjobs.Run(t, []string{xdg}, "get-pending", "--profile", "old")
	testutil.WantExit(t, r, 2)
	if !strings.Contains(r.Stderr, file+":2: unknown key profiles.old.thingy") {
		t.Errorf("the broken profile in use:\n%s", r)
	}
}

func TestMissingProfilesFileIsFine(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.WantExit(t, iotjobs.Run(t, nil, "get-pending", "-t", "t1", "-e", emu.Endpoint), 0)
	r := iotjobs.Run(t, nil, "config", "list")
	testutil.WantExit(t, r, 0)
	if !strings.Contains(r.Stdout, `"exists":false`) || !strings.Contains(r.Stdout, `"profiles":[]`) {
		t.Errorf("config list without a file:\n%s", r)
	}
}

// TestConfigNeverReadsKeys: config show and list print the paths of the
// certificate files, never what is in them, and do not need them to exist.
func TestConfigNeverReadsKeys(t *testing.T) {
	xdg, file := testutil.WriteProfiles(t, `[profiles.prod]
endpoint = "a1b2c3-ats.iot.eu-west-1.amazonaws.com"
thing = "my-thing"
cert = "certs/my-thing.cert.pem"
key = "~/certs/my-thing.private.key"
ca = "/nowhere/ca.pem"
`)
	certs := filepath.Join(filepath.Dir(file), "certs")
	if err := os.Mkdir(certs, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := "-----BEGIN PRIVATE KEY-----\nSECRET-MATERIAL\n-----END PRIVATE KEY-----\n"
	testutil.WriteFile(t, filepath.Join(certs, "my-thing.cert.pem"), secret)
	home := t.TempDir()
	env := []string{xdg, "HOME=" + home}
	s := configShow(t, env, "--profile", "prod")
	if got := s.Settings["cert"].Value; got != filepath.Join(certs, "my-thing.cert.pem") {
		t.Errorf("cert path %q, want it relative to the file's directory", got)
	}
	if got := s.Settings["key"].Value; got != filepath.Join(home, "certs/my-thing.private.key") {
		t.Errorf("key path %q, want ~ expanded", got)
	}
	for _, args := range [][]string{{"config", "show", "--profile", "prod", "-o", "pretty"}, {"config", "list", "-o", "pretty"}, {"config", "show", "--profile", "prod"}} {
		r := iotjobs.Run(t, env, args...)
		testutil.WantExit(t, r, 0)
		if strings.Contains(r.Stdout+r.Stderr, "SECRET") || strings.Contains(r.Stdout+r.Stderr, "BEGIN") {
			t.Errorf("%v printed file contents:\n%s", args, r)
		}
	}
}

func TestConfigListAndShowTables(t *testing.T) {
	xdg, file := testutil.WriteProfiles(t, `default_profile = "lab"
[profiles.lab]
endpoint = "mqtt://127.0.0.1:1883"
thing = "lab-thing-1"
[profiles.prod-eu]
endpoint = "a1b2c3-ats.iot.eu-west-1.amazonaws.com"
thing = "my-thing"
`)
	r := iotjobs.Run(t, []string{xdg, "IOTJOBS_PROFILE=prod-eu"}, "config", "list", "-o", "pretty")
	testutil.WantExit(t, r, 0)
	for _, want := range []string{"file: " + file, "lab-thing-1", "default", "*  prod-eu", "selected by IOTJOBS_PROFILE"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("config list does not show %q:\n%s", want, r.Stdout)
		}
	}
	r = iotjobs.Run(t, []string{xdg}, "config", "list")
	testutil.WantExit(t, r, 0)
	list := testutil.Reply(t, r)
	if testutil.Path(list, "selected", "name") != "lab" || testutil.Path(list, "default") != "lab" {
		t.Errorf("config list JSON: %s", r.Stdout)
	}

	r = iotjobs.Run(t, []string{xdg, "IOTJOBS_TIMEOUT=3s"}, "config", "show", "-o", "pretty", "-t", "other")
	testutil.WantExit(t, r, 0)
	for _, want := range []string{"profile:  lab (by default_profile in " + file + ":1)", "SETTING", "thing      other", "flag",
		"endpoint   mqtt://127.0.0.1:1883", file + ":3", "IOTJOBS_TIMEOUT", "(system roots)"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("config show does not show %q:\n%s", want, r.Stdout)
		}
	}
}

func TestConfigHelp(t *testing.T) {
	for _, cmd := range [][]string{{"config", "--help"}, {"config", "list", "--help"}, {"config", "show", "--help"}} {
		r := iotjobs.Run(t, nil, cmd...)
		testutil.WantExit(t, r, 0)
		for _, want := range []string{"$ iotjobs config", "| jq"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("%v does not contain %q", cmd, want)
			}
		}
	}
}

// TestFlagEndpointDecidesOverProfileTLS: a plain endpoint given as a flag
// (or in the environment) wins over a profile made for AWS: its cert, key
// and ca are not used, and a note says so.
func TestFlagEndpointDecidesOverProfileTLS(t *testing.T) {
	emu := testutil.StartEmulator(t)
	xdg, _ := testutil.WriteProfiles(t, "[profiles.aws]\nthing = \"t1\"\nendpoint = \"a1b2c3-ats.iot.eu-west-1.amazonaws.com\"\ncert = \"/nonexistent/t1.pem\"\nkey = \"/nonexistent/t1.key\"\n")
	for _, env := range [][]string{{xdg}, {xdg, "IOTJOBS_ENDPOINT=" + emu.Endpoint}} {
		args := []string{"get-pending", "--profile", "aws"}
		if len(env) == 1 {
			args = append(args, "-e", emu.Endpoint)
		}
		r := iotjobs.Run(t, env, args...)
		testutil.WantExit(t, r, 0)
		if !strings.Contains(r.Stderr, "note: "+emu.Endpoint+` is plain MQTT: the cert and key of profile "aws" are not used`) {
			t.Errorf("%v: no note:\n%s", env, r)
		}
	}
	// Given as flags, they are the user's mistake to hear about.
	r := iotjobs.Run(t, []string{xdg}, "get-pending", "--profile", "aws", "-e", emu.Endpoint, "--cert", "/nonexistent/x.pem", "--key", "/nonexistent/x.key")
	testutil.WantExit(t, r, 2)
}
