// Package iostreams holds the process's standard streams and decides once
// whether they are terminals and whether colour is allowed.
package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/fatih/color"
	"golang.org/x/term"
)

// IOStreams are the streams a command reads and writes.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	colorOK   bool // colour allowed by the environment (NO_COLOR, TERM)
	force     bool // CLICOLOR_FORCE: colour even when not a terminal
	noColor   bool // --no-color
}

// System returns the process's streams with terminal detection and the
// colour decision taken from the environment.
func System(in io.Reader, out, errOut io.Writer) *IOStreams {
	ios := &IOStreams{In: in, Out: out, ErrOut: errOut}
	ios.stdinTTY = isTerminal(in)
	ios.stdoutTTY = isTerminal(out)
	ios.stderrTTY = isTerminal(errOut)
	force := os.Getenv("CLICOLOR_FORCE")
	switch {
	case os.Getenv("NO_COLOR") != "":
		ios.colorOK = false
	case force != "" && force != "0":
		ios.colorOK, ios.force = true, true
	default:
		ios.colorOK = os.Getenv("TERM") != "dumb"
	}
	ios.apply()
	return ios
}

// Test returns streams backed by buffers, not terminals, without colour.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	ios := &IOStreams{In: in, Out: out, ErrOut: errOut}
	ios.apply()
	return ios, in, out, errOut
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// SetNoColor applies --no-color.
func (s *IOStreams) SetNoColor(off bool) {
	s.noColor = off
	s.apply()
}

// NoColor reports whether --no-color was given.
func (s *IOStreams) NoColor() bool { return s.noColor }

// SetTTY overrides terminal detection (tests).
func (s *IOStreams) SetTTY(stdout, stderr bool) {
	s.stdoutTTY, s.stderrTTY = stdout, stderr
	s.apply()
}

// apply keeps fatih/color's global switch in line with the decision for
// stderr, where human status is written.
func (s *IOStreams) apply() { color.NoColor = !s.ColorOnStderr() }

// IsStdinTTY reports whether stdin is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// ColorOnStdout reports whether stdout output may be coloured.
func (s *IOStreams) ColorOnStdout() bool { return (s.stdoutTTY || s.force) && s.colorOK && !s.noColor }

// ColorOnStderr reports whether stderr output may be coloured.
func (s *IOStreams) ColorOnStderr() bool { return (s.stderrTTY || s.force) && s.colorOK && !s.noColor }
