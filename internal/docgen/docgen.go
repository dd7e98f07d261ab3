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
	header := &doc.GenManHeader{Title: "IOTJOBS", Section: "1", Source: "iotjobs", Manual: "iotjobs manual", Date: &date}
	escapeAngles(root)
	if err := doc.GenManTree(root, header, manDir); err != nil {
		return fmt.Errorf("man pages: %w", err)
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
