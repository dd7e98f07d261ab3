// Package docgen writes the reference pages (markdown and man) and the shell
// completion scripts from the command tree, so they never drift from --help.
package docgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"
)

// Generate writes markdown pages to docsDir/cli, man pages to docsDir/man
// and completion scripts to complDir, replacing what was there.
func Generate(root *cobra.Command, docsDir, complDir string) error {
	root.DisableAutoGenTag = true
	mdDir := filepath.Join(docsDir, "cli")
	manDir := filepath.Join(docsDir, "man")
	for _, dir := range []string{mdDir, manDir, complDir} {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if err := doc.GenMarkdownTree(root, mdDir); err != nil {
		return fmt.Errorf("markdown pages: %w", err)
	}
	name := root.Name()
	completions := []struct {
		file string
		gen  func(string) error
	}{
		{name + ".bash", func(p string) error { return root.GenBashCompletionFileV2(p, true) }},
		{name + ".zsh", root.GenZshCompletionFile},
		{name + ".fish", func(p string) error { return root.GenFishCompletionFile(p, true) }},
		{name + ".ps1", root.GenPowerShellCompletionFileWithDesc},
	}
	for _, c := range completions {
		if err := c.gen(filepath.Join(complDir, c.file)); err != nil {
			return fmt.Errorf("completion %s: %w", c.file, err)
		}
	}
	// Man pages last: they need the commands' Use lines escaped.
	// A fixed date, so that regenerating the pages changes nothing unless
	// the commands did (the freshness test relies on it).
	date := time.Date(2026, time.November, 1, 0, 0, 0, 0, time.UTC)
	// No Title: each page's header names its own command (IOTJOBS-UPDATE).
	header := &doc.GenManHeader{Section: "1", Source: "iotjobs", Manual: "iotjobs manual", Date: &date}
	escapeAngles(root)
	if err := doc.GenManTree(root, header, manDir); err != nil {
		return fmt.Errorf("man pages: %w", err)
	}
	if err := rewriteManOptions(root, manDir); err != nil {
		return err
	}
	return addManSections(manDir)
}

// rewriteManOptions replaces cobra's OPTIONS section of every page, which
// prints each flag's zero default (--execution-number=0, --help[=false]),
// with the flags as --help shows them: the value's name, the default only
// when it means something, and the connection flags apart.
func rewriteManOptions(cmd *cobra.Command, dir string) error {
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			if err := rewriteManOptions(sub, dir); err != nil {
				return err
			}
		}
	}
	page := filepath.Join(dir, strings.ReplaceAll(cmd.CommandPath(), " ", "-")+".1")
	data, err := os.ReadFile(page)
	if err != nil {
		return err
	}
	text := string(data)
	start := strings.Index(text, ".SH OPTIONS\n")
	if start < 0 {
		return nil
	}
	end := strings.Index(text[start+1:], "\n.SH ")
	if end < 0 {
		return fmt.Errorf("%s: nothing after OPTIONS", page)
	}
	end += start + 2
	sections := manFlags("OPTIONS", cmdutil.OwnFlags(cmd)) + manFlags("CONNECTION OPTIONS", cmdutil.ConnectionFlags(cmd))
	return os.WriteFile(page, []byte(text[:start]+sections+text[end:]), 0o644)
}

// manFlags renders a flag set as a man page section, "" when it is empty.
func manFlags(title string, flags *pflag.FlagSet) string {
	if !flags.HasAvailableFlags() {
		return ""
	}
	var b strings.Builder
	b.WriteString(".SH " + title + "\n")
	flags.VisitAll(func(f *pflag.Flag) {
		name, usage := pflag.UnquoteUsage(f)
		b.WriteString(".PP\n")
		if f.Shorthand != "" {
			fmt.Fprintf(&b, `\fB-%s\fP, `, f.Shorthand)
		}
		fmt.Fprintf(&b, `\fB--%s\fP`, f.Name)
		if name != "" {
			fmt.Fprintf(&b, ` \fI%s\fP`, name)
		}
		b.WriteString("\n\t" + manEscape(usage))
		if def := meaningfulDefault(f); def != "" {
			b.WriteString(" (default " + manEscape(def) + ")")
		}
		b.WriteString("\n\n")
	})
	return b.String()
}

// meaningfulDefault is the default worth printing, as --help prints it:
// none for a zero value.
func meaningfulDefault(f *pflag.Flag) string {
	switch f.DefValue {
	case "", "0", "false", "[]", "0s":
		return ""
	}
	if f.Value.Type() == "string" {
		return fmt.Sprintf("%q", f.DefValue)
	}
	return f.DefValue
}

// manEscape protects roff's escape character.
func manEscape(s string) string { return strings.ReplaceAll(s, `\`, `\e`) }

// manSections are the sections every page shares, which cobra does not
// write: what the exit status means, the environment and the files read.
const manSections = `.SH EXIT STATUS
.TP
0
accepted; wait: the status was reached; watch: ended by --count, --for, Ctrl-C or SIGTERM
.TP
1
rejected with another code, or any other failure; many things: one was not accepted
.TP
2
usage error or invalid input; nothing was sent
.TP
3
could not connect, or the connection was lost before the reply
.TP
4
no reply within --timeout
.TP
10 to 18
rejected: InvalidTopic, InvalidJson, InvalidRequest, InvalidStateTransition, ResourceNotFound, VersionMismatch, InternalError, RequestThrottled, TerminalStateReached; the control-plane verbs exit with the code of the same meaning (12 InvalidRequestException, 13 InvalidStateTransitionException, 14 ResourceNotFoundException, 15 VersionConflictException, 16 InternalFailureException, 17 ThrottlingException)
.TP
19
control plane: ResourceAlreadyExistsException
.TP
130
interrupted (all but watch)

.SH ENVIRONMENT
.TP
IOTJOBS_THING, IOTJOBS_ENDPOINT, IOTJOBS_CLIENT_ID, IOTJOBS_CERT, IOTJOBS_KEY, IOTJOBS_CA, IOTJOBS_TIMEOUT, IOTJOBS_OUTPUT
a connection setting not given as a flag
.TP
IOTJOBS_PROFILE
the profile of the profiles file to use
.TP
IOTJOBS_EMULATOR
the control plane of the emulator verbs
.TP
NO_COLOR, CLICOLOR_FORCE, TERM
colour: none, forced, none on a dumb terminal

.SH FILES
.TP
$XDG_CONFIG_HOME/iotjobs/config.toml (~/.config/iotjobs/config.toml)
the profiles file (see iotjobs config --help)
.TP
$XDG_STATE_HOME/iotjobs/emulator.db (~/.local/state/iotjobs/emulator.db)
the emulator's default store

`

// addManSections writes manSections into every page, before SEE ALSO.
func addManSections(dir string) error {
	pages, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil {
		return err
	}
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			return err
		}
		text := string(data)
		if i := strings.Index(text, ".SH SEE ALSO"); i >= 0 {
			text = text[:i] + manSections + text[i:]
		} else {
			text += "\n" + manSections
		}
		if err := os.WriteFile(page, []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// escapeAngles protects the "<job-id>" of the Use lines from the markdown
// renderer behind the man pages, which takes it for an HTML tag and drops
// it from the synopsis.
func escapeAngles(cmd *cobra.Command) {
	cmd.Use = strings.NewReplacer("<", `\<`, ">", `\>`).Replace(cmd.Use)
	for _, c := range cmd.Commands() {
		escapeAngles(c)
	}
}
