package docgen_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iotjobs/iotjobs/internal/cli"
	"github.com/iotjobs/iotjobs/internal/docgen"
	"github.com/iotjobs/iotjobs/internal/iostreams"
)

// TestCommittedDocsAreFresh regenerates the pages and completions and
// compares them with what is committed, so a change to a command's flags or
// help cannot land without `go run ./cmd/gen-docs`.
func TestCommittedDocsAreFresh(t *testing.T) {
	tmp := generate(t)
	for _, dir := range []string{"docs/cli", "docs/man", "completions"} {
		want := readTree(t, filepath.Join(tmp, dir))
		got := readTree(t, filepath.Join("..", "..", dir))
		for name, content := range want {
			if !bytes.Equal(got[name], content) {
				t.Errorf("%s/%s is stale or missing: run `go run ./cmd/gen-docs`", dir, name)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("%s/%s is no longer generated: run `go run ./cmd/gen-docs`", dir, name)
			}
		}
	}
}

// TestManSynopsisKeepsArguments: the markdown renderer behind the man pages
// would drop "<job-id>" as an HTML tag.
func TestManSynopsisKeepsArguments(t *testing.T) {
	tmp := generate(t)
	for page, synopsis := range map[string]string{
		"iotjobs-update.1":   "iotjobs update <job-id> --status STATUS [flags]",
		"iotjobs-describe.1": "iotjobs describe <job-id> [flags]",
	} {
		b, err := os.ReadFile(filepath.Join(tmp, "docs", "man", page))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(synopsis)) {
			t.Errorf("%s lacks the synopsis %q", page, synopsis)
		}
	}
}

// generate writes docs/ and completions/ of the command tree into a
// temporary directory and returns it.
func generate(t *testing.T) string {
	t.Helper()
	tmp := t.TempDir()
	ios, _, _, _ := iostreams.Test()
	if err := docgen.Generate(cli.NewRootCmd(ios), filepath.Join(tmp, "docs"), filepath.Join(tmp, "completions")); err != nil {
		t.Fatal(err)
	}
	return tmp
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[rel] = b
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

// TestManPagesNameTheirCommand: each page's header names its own command,
// and every page has the EXIT STATUS, ENVIRONMENT and FILES sections.
func TestManPagesNameTheirCommand(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "..", "docs", "man", "*.1"))
	if err != nil || len(pages) < 10 {
		t.Fatalf("%d man pages: %v", len(pages), err)
	}
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		title := strings.ToUpper(strings.TrimSuffix(filepath.Base(page), ".1"))
		if !strings.Contains(text, `.TH "`+title+`" "1"`) {
			t.Errorf("%s: the header does not name %s", page, title)
		}
		for _, section := range []string{".SH EXIT STATUS", ".SH ENVIRONMENT", ".SH FILES"} {
			if !strings.Contains(text, section) {
				t.Errorf("%s: no %s", page, section)
			}
		}
		// No zero defaults presented as values (--execution-number=0,
		// --help[=false]).
		for _, bad := range []string{"[=false]", "[=true]", `\fP=0`, `\fP=""`} {
			if strings.Contains(text, bad) {
				t.Errorf("%s: a misleading default %q", page, bad)
			}
		}
	}
	describe, err := os.ReadFile(filepath.Join("..", "..", "docs", "man", "iotjobs-describe.1"))
	if err != nil {
		t.Fatal(err)
	}
	own, conn, _ := strings.Cut(string(describe), ".SH CONNECTION OPTIONS")
	if !strings.Contains(own, `\fB--execution-number\fP \fIN\fP`) || strings.Contains(own, `\fB--endpoint`) || !strings.Contains(conn, `\fB-e\fP, \fB--endpoint\fP \fIURL\fP`) {
		t.Errorf("describe's page does not list its own options apart from the connection options")
	}
}
