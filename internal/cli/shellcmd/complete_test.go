package shellcmd

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cli/devicecmd"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// deviceTree is the root's tree for the commands a line runs, as
// cli.NewRootCmdFor builds it (the test cannot import the root, which
// imports the shell).
func deviceTree(ios *iostreams.IOStreams, _ []string) *cobra.Command {
	root := &cobra.Command{Use: "iotjobs"}
	root.AddCommand(devicecmd.NewGetPendingCmd(ios), devicecmd.NewStartNextCmd(ios), devicecmd.NewDescribeCmd(ios),
		devicecmd.NewUpdateCmd(ios), devicecmd.NewWaitCmd(ios))
	return root
}

// TestCompleter: Tab completes a line wherever the cursor is among its
// flags, from the flags of the command that runs the line and the values
// their completion functions offer, and the job ids seen in the first
// argument. Each want is the line as each candidate would leave it.
func TestCompleter(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	mem := newMemory()
	mem.execution("job-a", jobs.StatusInProgress, 2)
	mem.execution("job-b", jobs.StatusQueued, 1)
	c := completer{tree: deviceTree, ios: ios, mem: mem}
	for _, tt := range []struct {
		line string
		want []string
	}{
		{"", []string{"get-pending", "start-next", "describe", "update", "wait", "watch", "help", "exit"}},
		{"star", []string{"start-next"}},
		{"watch o", []string{"watch on", "watch off"}},
		{"update jo", []string{"update job-a", "update job-b"}},
		{"describe ", []string{"describe $next", "describe job-a", "describe job-b"}},
		{"describe '$n", []string{"describe '$next'"}},
		{`update "job-b`, []string{`update "job-b"`}},
		// update without a job id acts on the execution in progress.
		{"update --st", []string{"update --status", "update --status-detail", "update --step-timeout"}},
		{"update job-b --expected-version 1 --st", []string{"update job-b --expected-version 1 --status", "update job-b --expected-version 1 --status-detail", "update job-b --expected-version 1 --step-timeout"}},
		{"update --status SUCC", []string{"update --status SUCCEEDED"}},
		{"update --status=SUCC", []string{"update --status=SUCCEEDED"}},
		{"update job-a --expected-version last --status IN", []string{"update job-a --expected-version last --status IN_PROGRESS"}},
		// A flag given is not offered again, unless it repeats.
		{"update job-a --status FAILED --st", []string{"update job-a --status FAILED --status-detail", "update job-a --status FAILED --step-timeout"}},
		{"update --status-detail a=1 --status-d", []string{"update --status-detail a=1 --status-detail"}},
		// The session's connection is every line's: not its endpoint or client id.
		{"update --e", []string{"update --execution-number", "update --expected-version"}},
		// Nor what the session's connection made, nor a fan-out's flags.
		{"get-pending --c", []string{"get-pending --client-token"}},
		{"get-pending --p", nil},
		{"get-pending -o j", []string{"get-pending -o json"}},
		{"get-pending -vo j", []string{"get-pending -vo json"}},
		{"describe $next --inc", []string{"describe $next --include-job-document=false"}},
		{"wait --ti", []string{"wait --timeout"}},
		{"wait job-a --timeout 5s --until TIM", []string{"wait job-a --timeout 5s --until TIMED_OUT"}},
		{"wait job-a --until term", []string{"wait job-a --until terminal"}},
		{"update --he", []string{"update --help"}},
		{"update job-a jo", nil},
		{"update job-a # --st", nil},
		{"bogus --st", nil},
		{"emulator --st", nil},
	} {
		t.Run(tt.line, func(t *testing.T) {
			line := []rune(tt.line)
			suffixes, length := c.Do(line, len(line))
			var got []string
			for _, s := range suffixes {
				if !strings.HasSuffix(string(s), " ") {
					t.Errorf("candidate %q ends without a space", s)
				}
				got = append(got, strings.TrimSuffix(tt.line+string(s), " "))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if len(got) > 0 && length > len(line) {
				t.Errorf("length %d past the line's %d", length, len(line))
			}
		})
	}
}

// TestCompleterCursorInside: what is typed after the cursor does not
// count.
func TestCompleterCursorInside(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	c := completer{tree: deviceTree, ios: ios, mem: newMemory()}
	line := []rune("wait --ti job-a")
	suffixes, length := c.Do(line, len("wait --ti"))
	if len(suffixes) != 1 || string(suffixes[0]) != "meout " || length != len("--ti") {
		t.Errorf("got %q, %d", suffixes, length)
	}
}

// FuzzCompleter: whatever is typed, wherever the cursor is, Tab neither
// panics nor offers a completion that does not continue the word under the
// cursor: each candidate, put at the cursor, leaves a line that splits as
// the shell splits the lines it runs.
func FuzzCompleter(f *testing.F) {
	for _, seed := range []string{"", "update --st", "describe '$n", `update "job-b`, "get-pending -vo j", "update --status=SUCC",
		"wait job-a --until terminal --ti", "update -- --st", `describe "a\'`, "update --status-detail a=1 --status-d", "# comment", "é --é"} {
		f.Add(seed, len(seed))
	}
	ios, _, _, _ := iostreams.Test()
	mem := newMemory()
	mem.execution("job-a", jobs.StatusInProgress, 2)
	c := completer{tree: deviceTree, ios: ios, mem: mem}
	f.Fuzz(func(t *testing.T, line string, pos int) {
		runes := []rune(line)
		if len(runes) > 200 {
			runes = runes[:200] // a line typed at a prompt; longer ones only slow the fuzzing
		}
		if pos < 0 || pos > len(runes) {
			pos = len(runes)
		}
		out, length := c.Do(runes, pos)
		if length < 0 || length > pos {
			t.Fatalf("Do(%q, %d): the word under the cursor is %d runes long", string(runes), pos, length)
		}
		for _, rest := range out {
			completed := string(runes[:pos]) + string(rest)
			if _, _, _, ok := splitAtCursor(completed); !ok {
				t.Fatalf("Do(%q, %d) offered %q, which leaves %q, a line the shell cannot read", string(runes), pos, string(rest), completed)
			}
		}
	})
}
