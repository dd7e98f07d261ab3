package cli_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/iotjobs/iotjobs/"

// TestImportsPointDown keeps the layout of the house (README, "where things
// live"): the root wires the groups, no group imports another or the root,
// the shared plumbing imports no group, and the service side, the protocol
// and the device side's door to MQTT import nothing of the command line.
func TestImportsPointDown(t *testing.T) {
	imports := ourImports(t, "../..")
	groups := 0
	for pkg, deps := range imports {
		forbid := func(why string, bad func(dep string) bool) {
			for _, dep := range deps {
				if bad(dep) {
					t.Errorf("%s imports %s: %s", pkg, dep, why)
				}
			}
		}
		inCLI := func(dep string) bool { return dep == "internal/cli" || strings.HasPrefix(dep, "internal/cli/") }
		switch {
		case strings.HasPrefix(pkg, "internal/cli/"):
			groups++
			forbid("a command group imports no other group and not the root", inCLI)
		case pkg == "internal/cmdutil":
			forbid("the shared plumbing imports no command group", inCLI)
		case pkg == "internal/jobs":
			forbid("the protocol imports nothing of ours", func(string) bool { return true })
		case pkg == "internal/policy":
			forbid("the policy evaluator, shared by the emulator and the command line, imports nothing of ours", func(string) bool { return true })
		case pkg == "internal/iotapi":
			forbid("the control-plane API needs only the protocol", func(dep string) bool { return dep != "internal/jobs" })
		case strings.HasPrefix(pkg, "internal/emulator") || slices.Contains([]string{"internal/mqttclient", "internal/render"}, pkg):
			forbid("it serves the command line, never the other way round", func(dep string) bool {
				return inCLI(dep) || dep == "internal/cmdutil"
			})
		}
		if strings.HasPrefix(pkg, "internal/emulator/") {
			forbid("the emulator's parts never import the emulator that assembles them", func(dep string) bool {
				return dep == "internal/emulator"
			})
		}
		if slices.Contains([]string{"internal/emulator/engine", "internal/emulator/store", "internal/emulator/clock"}, pkg) {
			forbid("the engine knows neither its MQTT front nor its HTTP control plane", func(dep string) bool {
				return dep == "internal/emulator/front" || dep == "internal/emulator/controlplane"
			})
		}
		if pkg == "internal/mqttclient" {
			forbid("client and service meet only on the wire and in internal/jobs", func(dep string) bool {
				return strings.HasPrefix(dep, "internal/emulator")
			})
		}
	}
	if groups < 4 {
		t.Errorf("found %d command groups under internal/cli; the walk is looking in the wrong place", groups)
	}
}

// ourImports maps each package directory under root/internal (relative to
// root) to the packages of this module its non-test files import.
func ourImports(t *testing.T, root string) map[string][]string {
	t.Helper()
	imports := map[string][]string{}
	err := filepath.WalkDir(filepath.Join(root, "internal"), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			dep, _ := strconv.Unquote(imp.Path.Value)
			if ours, ok := strings.CutPrefix(dep, module); ok && !slices.Contains(imports[pkg], ours) {
				imports[pkg] = append(imports[pkg], ours)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return imports
}
