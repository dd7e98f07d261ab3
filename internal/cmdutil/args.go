package cmdutil

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Usage errors say what was wrong, what was expected and give an example,
// in the command's own words, never the parser's (strconv.ParseInt, "accepts
// 1 arg(s)").

// NoArgs refuses arguments, naming the first one.
func NoArgs(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return nil
	case cmd.HasSubCommands():
		return Usagef("unknown command %q for %q; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return Usagef("%s takes no arguments, and %q was given (flags start with -)%s", cmd.CommandPath(), args[0], example(cmd))
}

// OneArg wants exactly one argument, name (say "<job-id>").
func OneArg(name string) cobra.PositionalArgs {
	leading := LeadingArg(name)
	return func(cmd *cobra.Command, args []string) error {
		if err := leading(cmd, args); err != nil {
			return err
		}
		if len(args) > 1 {
			return Usagef("%s takes one %s, and %d arguments were given (%s)%s", cmd.CommandPath(), name, len(args), strings.Join(args, " "), example(cmd))
		}
		return nil
	}
}

// MaxOneArg allows name, or nothing (the command says what else will do).
func MaxOneArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 1 {
			return Usagef("%s takes one %s, and %d arguments were given (%s)%s", cmd.CommandPath(), name, len(args), strings.Join(args, " "), example(cmd))
		}
		return nil
	}
}

// LeadingArg wants name first; the arguments after it are the command's
// to check.
func LeadingArg(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return Usagef("%s needs %s%s", cmd.CommandPath(), name, example(cmd))
		}
		return nil
	}
}

// UsageExample is the usage error of an argument the command refused,
// followed by the first of its examples.
func UsageExample(cmd *cobra.Command, format string, args ...any) error {
	return Usagef("%s%s", fmt.Sprintf(format, args...), example(cmd))
}

// example is "; e.g. " and the first line of the command's examples.
func example(cmd *cobra.Command) string {
	first, _, _ := strings.Cut(strings.TrimSpace(cmd.Example), "\n")
	if first = strings.TrimSpace(strings.TrimPrefix(first, "$")); first == "" {
		return ""
	}
	return "; e.g. " + first
}

// pflag's messages, which FlagError rewords: a value its parser refused, an
// unknown flag, and a flag given without its value.
var pflagMessages = sync.OnceValue(func() (m struct{ invalid, unknown, unknownShort, needsValue, needsValueShort *regexp.Regexp }) {
	m.invalid = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?--([\w-]+)" flag: `)
	m.unknown = regexp.MustCompile(`^unknown flag: --([^=]+)`)
	m.unknownShort = regexp.MustCompile(`^unknown shorthand flag: '(.)' in (-\S+)`)
	m.needsValue = regexp.MustCompile(`^flag needs an argument: --(\S+)`)
	m.needsValueShort = regexp.MustCompile(`^flag needs an argument: '(.)' in -`)
	return m
})

// FlagError is the commands' flag error function: pflag's complaint (a
// value its parser refused, an unknown flag, a flag without its value)
// becomes a usage error that names the flag, says what it wants and shows
// an example, or where the flags are listed.
func FlagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	re := pflagMessages()
	if m := re.invalid.FindStringSubmatch(msg); m != nil {
		if fl := cmd.Flags().Lookup(m[2]); fl != nil {
			return Usagef("invalid --%s %q: want %s", fl.Name, m[1], expectation(fl))
		}
	}
	var fl *pflag.Flag
	if m := re.needsValue.FindStringSubmatch(msg); m != nil {
		fl = cmd.Flags().Lookup(m[1])
	} else if m := re.needsValueShort.FindStringSubmatch(msg); m != nil {
		fl = cmd.Flags().ShorthandLookup(m[1])
	}
	if fl != nil {
		want := expectation(fl)
		if !strings.Contains(want, "e.g.") {
			want += example(cmd)
		}
		return Usagef("--%s needs a value: %s", fl.Name, want)
	}
	unknown := ""
	if m := re.unknown.FindStringSubmatch(msg); m != nil {
		unknown = "--" + m[1]
	} else if m := re.unknownShort.FindStringSubmatch(msg); m != nil {
		unknown = "-" + m[1]
		if m[2] != unknown {
			unknown += " (in " + m[2] + ")"
		}
	}
	if unknown != "" {
		return Usagef("%s has no flag %s; its flags are listed by: %s --help", cmd.CommandPath(), unknown, cmd.CommandPath())
	}
	return &UsageError{Err: err}
}

// expectation says what a flag's values look like, with an example.
func expectation(fl *pflag.Flag) string {
	unit, _ := pflag.UnquoteUsage(fl)
	switch fl.Value.Type() {
	case "int", "int32", "int64", "uint", "uint32", "uint64":
		return fmt.Sprintf("a whole number (%s), e.g. --%s 10", unit, fl.Name)
	case "float32", "float64":
		return fmt.Sprintf("a number (%s), e.g. --%s 0.5", unit, fl.Name)
	case "bool":
		return fmt.Sprintf("true or false, e.g. --%s=false", fl.Name)
	case "duration":
		return fmt.Sprintf("a duration such as 30s, 5m or 1h30m, e.g. --%s 30s", fl.Name)
	}
	return fmt.Sprintf("a %s (%s)", fl.Value.Type(), unit)
}
