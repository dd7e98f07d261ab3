// Package render prints reply payloads: indented and coloured for a person
// at a terminal, one compact JSON line for scripts.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fatih/color"
	"github.com/tidwall/pretty"

	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// Format is how payloads are printed.
type Format string

// The output formats of -o/--output.
const (
	// JSON is one compact JSON line per payload, the service's JSON with
	// the whitespace taken out and the key order kept.
	JSON Format = "json"
	// Pretty is indented JSON, coloured when stdout is a terminal and
	// colour is allowed.
	Pretty Format = "pretty"
)

// FormatNames lists the formats, for help and completion.
func FormatNames() []string { return []string{string(Pretty), string(JSON)} }

// ParseFormat reads an -o value, in any case.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case JSON, Pretty:
		return f, nil
	}
	return "", fmt.Errorf("invalid output format %q: use pretty or json", s)
}

// DefaultFormat is pretty on a terminal and json otherwise, so that pipes
// get one line per document.
func DefaultFormat(ios *iostreams.IOStreams) Format {
	if ios.IsStdoutTTY() {
		return Pretty
	}
	return JSON
}

// Printer writes payloads to stdout in one format.
type Printer struct {
	out    io.Writer
	format Format
	color  bool
}

// New returns a printer for ios's stdout; colour is iostreams' decision.
func New(ios *iostreams.IOStreams, format Format) *Printer {
	return &Printer{out: ios.Out, format: format, color: format == Pretty && ios.ColorOnStdout()}
}

// Payload prints one payload. A payload that is not JSON is printed as it
// came, on its own line, so nothing the service said is lost.
func (p *Printer) Payload(payload []byte) error {
	var buf bytes.Buffer
	switch {
	case !json.Valid(payload):
		buf.Write(payload)
		buf.WriteByte('\n')
	case p.format == Pretty:
		out := pretty.PrettyOptions(payload, &pretty.Options{Indent: "  "}) // expanded like jq
		notes := timeNotes(out)
		if p.color {
			out = pretty.Color(out, nil)
		}
		p.annotate(&buf, out, notes)
	default:
		if err := json.Compact(&buf, payload); err != nil {
			return err
		}
		buf.WriteByte('\n')
	}
	_, err := p.out.Write(buf.Bytes())
	return err
}

// epochLine is a line of a pretty reply that holds one of the service's
// epoch-seconds fields.
var epochLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*"(timestamp|queuedAt|startedAt|lastUpdatedAt|createdAt|completedAt)": (\d+),?$`)
})

// timeNotes maps the index of each line of a pretty reply that holds epoch
// seconds to that time for a person (jobs.HumanTime).
func timeNotes(plain []byte) map[int]string {
	notes := map[int]string{}
	for i, line := range bytes.Split(plain, []byte("\n")) {
		if m := epochLine().FindSubmatch(line); m != nil {
			if n, err := strconv.ParseInt(string(m[2]), 10, 64); err == nil {
				notes[i] = jobs.HumanTime(time.Unix(n, 0))
			}
		}
	}
	return notes
}

// annotate writes out with each note dimmed at the end of its line, like a
// comment: for a person at a terminal, not for a parser.
func (p *Printer) annotate(buf *bytes.Buffer, out []byte, notes map[int]string) {
	lines := bytes.Split(out, []byte("\n"))
	for i, line := range lines {
		buf.Write(line)
		if note, ok := notes[i]; ok {
			buf.WriteString("  " + p.Paint("# "+note, color.Faint))
		}
		if i < len(lines)-1 {
			buf.WriteByte('\n')
		}
	}
}
