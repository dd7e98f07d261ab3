package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cli"
	"github.com/iotjobs/iotjobs/internal/iostreams"
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

// TestUnknownSubcommandIsAUsageError: a command that only groups others
// refuses an unknown subcommand with exit 2, as the root does, and prints
// its help when run alone.
func TestUnknownSubcommandIsAUsageError(t *testing.T) {
	for _, path := range [][]string{{"config"}, {"emulator", "fault"}, {"emulator", "group"}} {
		r := iotjobs.Run(t, nil, append(path, "bogus")...)
		testutil.WantExit(t, r, 2)
		if want := fmt.Sprintf("unknown command %q for %q", "bogus", "iotjobs "+strings.Join(path, " ")); !strings.Contains(r.Stderr, want) {
			t.Errorf("%v bogus: %s", path, r.Stderr)
		}
		r = iotjobs.Run(t, nil, path...)
		testutil.WantExit(t, r, 0)
		if !strings.Contains(r.Stdout, "Available Commands:") {
			t.Errorf("%v alone: %s", path, r)
		}
	}
}

// TestCommonFlagsOnEveryCommand: every command that runs takes --no-color,
// -v/--verbose and -o/--output, with the same meaning of each.
func TestCommonFlagsOnEveryCommand(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	var walk func(cmd *cobra.Command)
	checked := 0
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
		if !cmd.Runnable() || cmd.Annotations[cli.GroupsOnly] != "" || cmd.Hidden || cmd.HasParent() && cmd.Parent().Name() == "completion" || cmd.Name() == "help" || cmd.Name() == "__complete" {
			return
		}
		checked++
		f := cmd.Flags()
		if fl := f.Lookup("no-color"); fl == nil || fl.Value.Type() != "bool" {
			t.Errorf("%s: no --no-color", cmd.CommandPath())
		}
		if fl := f.ShorthandLookup("v"); fl == nil || fl.Name != "verbose" {
			t.Errorf("%s: -v is not --verbose", cmd.CommandPath())
		}
		if fl := f.ShorthandLookup("o"); fl == nil || fl.Name != "output" {
			t.Errorf("%s: no -o/--output", cmd.CommandPath())
		}
	}
	root := cli.NewRootCmd(ios)
	root.InitDefaultCompletionCmd()
	walk(root)
	if checked < 25 {
		t.Errorf("checked %d commands only", checked)
	}
}

// TestVersionVerbose: version -v adds what a bug report needs: the
// platform, the module and the modules linked in, pretty or JSON.
func TestVersionVerbose(t *testing.T) {
	r := iotjobs.Run(t, nil, "version", "-v", "-o", "pretty", "--no-color")
	testutil.WantExit(t, r, 0)
	for _, want := range []string{"\nplatform:  ", runtime.GOOS + "/" + runtime.GOARCH, "\nmodule:  ", "github.com/iotjobs/iotjobs", "github.com/spf13/cobra v"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("version -v: no %q in\n%s", want, r.Stdout)
		}
	}
	r = iotjobs.Run(t, nil, "version", "-v", "-o", "json")
	testutil.WantExit(t, r, 0)
	var d struct {
		Version, Go, Platform, Module string
		Dependencies                  []struct{ Path, Version string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &d); err != nil || d.Platform != runtime.GOOS+"/"+runtime.GOARCH ||
		d.Module != "github.com/iotjobs/iotjobs" || len(d.Dependencies) < 5 || d.Version == "" {
		t.Errorf("version -v -o json: %v\n%s", err, r)
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

// TestTopLevelNames: the root built for one command (NewRootCmdFor, what a
// one-shot run builds) holds that command alone, under its true name, and
// its --help reads as in the whole tree; help, completion and unknown
// commands get the whole tree.
func TestTopLevelNames(t *testing.T) {
	help := func(root *cobra.Command, out *bytes.Buffer, args ...string) string {
		out.Reset()
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out.String()
	}
	ios, _, out, _ := iostreams.Test()
	full := cli.NewRootCmd(ios)
	names := 0
	for _, c := range full.Commands() {
		names++
		want := help(cli.NewRootCmd(ios), out, c.Name(), "--help")
		one := cli.NewRootCmdFor(ios, []string{"-v", c.Name(), "--help"})
		if len(one.Commands()) != 1 || one.Commands()[0].Name() != c.Name() {
			t.Errorf("root for %s holds %d commands", c.Name(), len(one.Commands()))
			continue
		}
		if got := help(one, out, c.Name(), "--help"); got != want {
			t.Errorf("%s --help differs from the whole tree's:\n%s\nwant\n%s", c.Name(), got, want)
		}
	}
	if names != 13 {
		t.Errorf("%d top-level commands", names)
	}
	for _, args := range [][]string{nil, {"help", "get-pending"}, {"__complete", "get-pending", ""}, {"nosuch"}, {"--version"}} {
		if n := len(cli.NewRootCmdFor(ios, args).Commands()); n != names {
			t.Errorf("%q: a root with %d commands, want the whole tree", args, n)
		}
	}
}
