package cli_test

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/mqttclient/mqtttest"
	"github.com/iotjobs/iotjobs/internal/testutil"
)

// complete runs cobra's hidden __complete command as a shell's completion
// script does, and returns the candidates (without descriptions) and the
// directive line.
func complete(t *testing.T, env []string, args ...string) (candidates []string, directive string, r testutil.Result) {
	t.Helper()
	r = iotjobs.Run(t, env, append([]string{"__complete"}, args...)...)
	testutil.WantExit(t, r, 0)
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	for _, l := range lines[:len(lines)-1] {
		name, _, _ := strings.Cut(l, "\t")
		candidates = append(candidates, name)
	}
	return candidates, lines[len(lines)-1], r
}

// noFiles is ShellCompDirectiveNoFileComp.
const noFiles = ":4"

func TestCompleteJobIDsFromPendingExecutions(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-a", "thing-1", "{}")
	testutil.CreateJob(t, emu, "job-b", "thing-1", "{}")
	testutil.CreateJob(t, emu, "job-other", "thing-2", "{}")
	testutil.WantExit(t, iotjobs.Run(t, nil, "start-next", "-t", "thing-1", "-e", emu.Endpoint), 0) // job-a IN_PROGRESS

	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"describe offers $next", nil, []string{"describe", "-t", "thing-1", "-e", emu.Endpoint, ""}, []string{"$next", "job-a", "job-b"}},
		// --status is given: cobra offers a required flag not yet typed.
		{"update", nil, []string{"update", "--status", "FAILED", "-t", "thing-1", "-e", emu.Endpoint, ""}, []string{"job-a", "job-b"}},
		{"wait", nil, []string{"wait", "-t", "thing-1", "-e", emu.Endpoint, "j"}, []string{"job-a", "job-b"}},
		{"settings from the environment", []string{"IOTJOBS_THING=thing-2", "IOTJOBS_ENDPOINT=" + emu.Endpoint}, []string{"update", "--status", "FAILED", ""}, []string{"job-other"}},
		{"only the first argument", nil, []string{"update", "--status", "FAILED", "-t", "thing-1", "-e", emu.Endpoint, "job-a", ""}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, directive, r := complete(t, tt.env, tt.args...)
			if !slices.Equal(got, tt.want) || directive != noFiles {
				t.Errorf("candidates %q %s, want %q %s\n%s", got, directive, tt.want, noFiles, r)
			}
		})
	}
	// Descriptions say the status.
	_, _, r := complete(t, nil, "update", "-t", "thing-1", "-e", emu.Endpoint, "")
	if !strings.Contains(r.Stdout, "job-a\tIN_PROGRESS\n") || !strings.Contains(r.Stdout, "job-b\tQUEUED\n") {
		t.Errorf("descriptions:\n%s", r.Stdout)
	}
}

func TestCompleteJobIDsWithAProfile(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-p", "profile-thing", "{}")
	xdg, _ := testutil.WriteProfiles(t, "[profiles.emu]\nthing = \"profile-thing\"\nendpoint = \""+emu.Endpoint+"\"\n")
	got, _, r := complete(t, []string{xdg}, "describe", "--profile", "emu", "")
	if !slices.Equal(got, []string{"$next", "job-p"}) {
		t.Errorf("candidates %q\n%s", got, r)
	}
}

// TestCompleteJobIDsFailsSilently: with no thing, a bad profiles file,
// nothing listening, or a broker that never answers, completion offers
// nothing (but $next), prints nothing else, and gives up within its own
// short timeout, whatever --timeout says.
func TestCompleteJobIDsFailsSilently(t *testing.T) {
	silent := mqtttest.Start(t, mqtttest.Options{}) // accepts, never answers get-pending
	refused := testutil.FreeAddr(t)
	badXDG, _ := testutil.WriteProfiles(t, "[profiles.x\n")
	for _, tt := range []struct {
		name string
		env  []string
		args []string
	}{
		{"no thing", nil, []string{"describe", "-e", "mqtt://" + silent.Addr, ""}},
		{"bad thing", nil, []string{"describe", "-t", "a/b", ""}},
		{"malformed profiles file", []string{badXDG}, []string{"describe", "-t", "t1", ""}},
		{"unknown profile", nil, []string{"describe", "-t", "t1", "--profile", "nope", ""}},
		{"connection refused", nil, []string{"describe", "-t", "t1", "-e", "mqtt://" + refused, ""}},
		{"no answer", nil, []string{"describe", "-t", "t1", "-e", "mqtt://" + silent.Addr, "--timeout", "1m", ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, directive, r := complete(t, tt.env, tt.args...)
			if !slices.Equal(got, []string{"$next"}) || directive != noFiles {
				t.Errorf("candidates %q %s\n%s", got, directive, r)
			}
			if strings.Contains(r.Stderr, "iotjobs:") || strings.Contains(r.Stderr, "rror") {
				t.Errorf("stderr has an error:\n%s", r.Stderr)
			}
			if r.Elapsed > 5*time.Second {
				t.Errorf("took %s", r.Elapsed)
			}
		})
	}
}

func TestCompleteFlagValues(t *testing.T) {
	xdg, _ := testutil.WriteProfiles(t, `[profiles.lab]
thing = "lab-thing-1"
endpoint = "mqtt://127.0.0.1:1883"
[profiles.lab2]
thing = "lab-thing-1"
[profiles.prod-eu]
thing = "my-thing"
`)
	for _, tt := range []struct {
		name string
		args []string
		want []string
	}{
		{"statuses", []string{"update", "j", "--status", ""}, []string{"IN_PROGRESS", "SUCCEEDED", "FAILED", "REJECTED"}},
		{"profiles", []string{"get-pending", "--profile", ""}, []string{"lab", "lab2", "prod-eu"}},
		{"profiles of config show", []string{"config", "show", "--profile", ""}, []string{"lab", "lab2", "prod-eu"}},
		{"profiles of config list", []string{"config", "list", "--profile", ""}, []string{"lab", "lab2", "prod-eu"}},
		{"things of the profiles", []string{"describe", "-t", ""}, []string{"lab-thing-1", "my-thing"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, directive, r := complete(t, []string{xdg}, tt.args...)
			if !slices.Equal(got, tt.want) || directive != noFiles {
				t.Errorf("candidates %q %s, want %q\n%s", got, directive, tt.want, r)
			}
		})
	}
	_, _, r := complete(t, []string{xdg}, "describe", "-t", "")
	if !strings.Contains(r.Stdout, "lab-thing-1\tprofile lab, lab2\n") {
		t.Errorf("thing descriptions:\n%s", r.Stdout)
	}
	// Without a profiles file: nothing, and no file names either.
	got, directive, _ := complete(t, nil, "describe", "--profile", "")
	if len(got) != 0 || directive != noFiles {
		t.Errorf("without a file: %q %s", got, directive)
	}
}

// TestCompleteControlPlaneVerbs: the control-plane verbs complete job ids
// from the control plane and thing names from the job's executions, and
// never offer file names but for --document.
func TestCompleteControlPlaneVerbs(t *testing.T) {
	emu := testutil.StartEmulator(t)
	env := []string{"IOTJOBS_EMULATOR=" + emu.HTTPURL}
	testutil.WantExit(t, iotjobs.Run(t, env, "emulator", "create-job", "job-a", "-t", "thing-1,thing-2", "--document", "{}"), 0)
	testutil.CreateJob(t, emu, "job-b", "thing-3", "{}")
	testutil.WantExit(t, iotjobs.Run(t, env, "emulator", "group", "create", "fleet"), 0)
	testutil.WantExit(t, iotjobs.Run(t, env, "emulator", "group", "add", "fleet", "thing-1", "thing-2"), 0)
	testutil.WantExit(t, iotjobs.Run(t, env, "emulator", "group", "create", "lab"), 0)
	for _, tt := range []struct {
		name      string
		args      []string
		want      []string
		directive string
	}{
		{"describe-job", []string{"emulator", "describe-job", ""}, []string{"job-a", "job-b"}, noFiles},
		{"cancel-job", []string{"emulator", "cancel-job", ""}, []string{"job-a", "job-b"}, noFiles},
		{"only one job id", []string{"emulator", "delete-job", "job-a", ""}, nil, noFiles},
		{"things of the job", []string{"emulator", "describe-execution", "job-a", "-t", ""}, []string{"thing-1", "thing-2"}, noFiles},
		{"--job", []string{"emulator", "list-executions", "--job", ""}, []string{"job-a", "job-b"}, noFiles},
		{"things of --job", []string{"emulator", "list-executions", "--job", "job-b", "--thing", ""}, []string{"thing-3"}, noFiles},
		{"a new job id", []string{"emulator", "create-job", ""}, nil, noFiles},
		{"free text", []string{"emulator", "cancel-job", "job-a", "--comment", ""}, nil, noFiles},
		{"a URL", []string{"emulator", "list-jobs", "--emulator", ""}, nil, noFiles},
		{"the document is a file", []string{"emulator", "create-job", "j", "--document", ""}, []string{"json"}, ":8"},
		{"a client id, not a file", []string{"emulator", "fault", "disconnect", ""}, nil, noFiles},
		{"one client id", []string{"emulator", "fault", "disconnect", "x", ""}, nil, noFiles},
		{"groups", []string{"emulator", "group", "remove", ""}, []string{"fleet", "lab"}, noFiles},
		{"groups by prefix", []string{"emulator", "group", "describe", "f"}, []string{"fleet"}, noFiles},
		{"one group", []string{"emulator", "group", "describe", "fleet", ""}, nil, noFiles},
		{"groups to list", []string{"emulator", "group", "list", ""}, []string{"fleet", "lab"}, noFiles},
		{"--group", []string{"emulator", "create-job", "j", "--group", ""}, []string{"fleet", "lab"}, noFiles},
		{"members to remove", []string{"emulator", "group", "remove", "fleet", ""}, []string{"thing-1", "thing-2"}, noFiles},
		{"members not yet given", []string{"emulator", "group", "remove", "fleet", "thing-1", ""}, []string{"thing-2"}, noFiles},
		{"--things is a file", []string{"emulator", "group", "add", "fleet", "--things", ""}, []string{"txt"}, ":8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, directive, r := complete(t, env, tt.args...)
			if !slices.Equal(got, tt.want) || directive != tt.directive {
				t.Errorf("candidates %q %s, want %q %s\n%s", got, directive, tt.want, tt.directive, r)
			}
		})
	}
	_, _, r := complete(t, env, "emulator", "describe-job", "")
	if !strings.Contains(r.Stdout, "job-a\tIN_PROGRESS\n") {
		t.Errorf("job descriptions:\n%s", r.Stdout)
	}
	// fault disconnect offers the profiles' things: their default client ids.
	xdg, _ := testutil.WriteProfiles(t, "[profiles.a]\nthing = \"lab-thing\"\n")
	if got, directive, r := complete(t, append(env, xdg), "emulator", "fault", "disconnect", ""); !slices.Equal(got, []string{"lab-thing"}) || directive != noFiles {
		t.Errorf("fault disconnect: %q %s\n%s", got, directive, r)
	}
}

// TestCompletionFlagDescriptionsArePlain: a flag's description in a
// completion menu has no backticks (--help keeps its placeholders).
func TestCompletionFlagDescriptionsArePlain(t *testing.T) {
	for _, args := range [][]string{{"get-pending", "--"}, {"emulator", "list-jobs", "--"}, {"emulator", "--"}} {
		_, _, r := complete(t, nil, args...)
		if strings.Contains(r.Stdout, "`") || !strings.Contains(r.Stdout, "\t") {
			t.Errorf("%v:\n%s", args, r.Stdout)
		}
	}
	if r := iotjobs.Run(t, nil, "get-pending", "--help"); !strings.Contains(r.Stdout, "--ca FILE") {
		t.Errorf("--help lost its placeholders:\n%s", r.Stdout)
	}
}

// TestCompletionLeavesAWatchAlone: completing a job id connects with a
// client id of its own, so a watch using the thing's name as client id
// stays connected.
func TestCompletionLeavesAWatchAlone(t *testing.T) {
	emu := testutil.StartEmulator(t)
	testutil.CreateJob(t, emu, "job-a", "thing-1", "{}")
	watch := testutil.StartBinary(t, iotjobs.Path, nil, "watch", "-t", "thing-1", "-e", emu.Endpoint, "-v")
	watch.WaitStderr(t, "* watching ", 10*time.Second)
	got, _, r := complete(t, nil, "describe", "-t", "thing-1", "-e", emu.Endpoint, "")
	if !slices.Equal(got, []string{"$next", "job-a"}) {
		t.Fatalf("candidates %q\n%s", got, r)
	}
	// The watch is still the one connection of client id thing-1: a
	// describe with another id is answered, and the watch saw no drop.
	testutil.WantExit(t, iotjobs.Run(t, nil, "describe", "job-a", "-t", "thing-1", "--client-id", "other", "-e", emu.Endpoint), 0)
	watch.Signal(t, syscall.SIGTERM)
	res := watch.Wait(t)
	if strings.Contains(res.Stderr, "disconnected") {
		t.Errorf("the completion knocked the watch off:\n%s", res.Stderr)
	}
}
