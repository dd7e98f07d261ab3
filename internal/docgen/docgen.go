// Package docgen writes the reference pages (markdown and man) and the shell
// completion scripts from the command tree, so they never drift from --help.
package docgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
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
	return addManSections(manDir)
}

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
