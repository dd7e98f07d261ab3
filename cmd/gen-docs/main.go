// Command gen-docs writes docs/cli, docs/man and completions/ from the
// iotjobs command tree. Run it from the repository root: go run ./cmd/gen-docs
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/iotjobs/iotjobs/internal/cli"
	"github.com/iotjobs/iotjobs/internal/docgen"
	"github.com/iotjobs/iotjobs/internal/iostreams"
)

func main() {
	docsDir := flag.String("docs", "docs", "directory for the markdown (cli/) and man (man/) pages")
	complDir := flag.String("completions", "completions", "directory for the shell completion scripts")
	flag.Parse()
	ios, _, _, _ := iostreams.Test()
	if err := docgen.Generate(cli.NewRootCmd(ios), *docsDir, *complDir); err != nil {
		fmt.Fprintln(os.Stderr, "gen-docs:", err)
		os.Exit(1)
	}
}
