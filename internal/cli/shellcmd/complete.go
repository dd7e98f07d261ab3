package shellcmd

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/shlex"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// completer completes the line being typed at the prompt: the shell's
// commands first, then, for a command the session runs, what the cobra
// command that will run the line knows of itself (its flags, and the
// values its flags' completion functions offer), and the job ids the
// session has seen. It reads the line as run does, wherever the cursor is
// among the flags.
type completer struct {
	tree TreeFunc
	ios  *iostreams.IOStreams
	mem  *memory
}

// Do returns what may follow the word under the cursor, and that word's
// length, as readline.AutoCompleter asks.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	words, partial, closing, ok := splitAtCursor(string(line[:pos]))
	if !ok {
		return nil, 0
	}
	var out [][]rune
	for _, candidate := range c.candidates(words, partial) {
		if rest, ok := strings.CutPrefix(candidate, partial); ok {
			out = append(out, []rune(rest+closing+" "))
		}
	}
	return out, utf8.RuneCountInString(partial)
}

// splitAtCursor splits a line up to the cursor with shlex, as run splits
// the lines it runs: words are the words before the cursor's, partial is
// the cursor's word so far ("" at the start of a word), and closing is the
// quote it leaves open, which a completion closes. ok is false when the
// line cannot be read that way.
func splitAtCursor(line string) (words []string, partial, closing string, ok bool) {
	// A letter typed at the cursor ends up in the cursor's word, alone at
	// the start of a word: the last word read, without it, is the partial.
	const sentinel = "x"
	for _, closing := range []string{"", "'", `"`} {
		split, err := shlex.Split(line + sentinel + closing)
		if err != nil || len(split) == 0 {
			continue
		}
		last := split[len(split)-1]
		if !strings.HasSuffix(last, sentinel) {
			return nil, "", "", false // a comment, or an escape, took the letter
		}
		return split[:len(split)-1], strings.TrimSuffix(last, sentinel), closing, true
	}
	return nil, "", "", false
}

// candidates are the words that may stand where partial is typed after
// words.
func (c completer) candidates(words []string, partial string) []string {
	if len(words) == 0 {
		return append(slices.Clone(lineCommands), "watch", "help", "exit")
	}
	if words[0] == "watch" && len(words) == 1 {
		return []string{"on", "off"}
	}
	if !slices.Contains(lineCommands, words[0]) {
		return nil
	}
	cmd, _, err := c.tree(c.ios, words[:1]).Find(words[:1])
	if err != nil || cmd.Name() != words[0] {
		return nil
	}
	cmd.InitDefaultHelpFlag() // as cobra does before it completes: every line takes --help
	typed := readWords(cmd, words[1:])
	switch {
	case typed.valueOf != nil:
		return flagValues(cmd, typed.valueOf, typed.args, partial, "")
	case strings.HasPrefix(partial, "--") && strings.Contains(partial, "="):
		name, value, _ := strings.Cut(partial[2:], "=")
		if f := cmd.Flag(name); f != nil {
			return flagValues(cmd, f, typed.args, value, "--"+name+"=")
		}
		return nil
	case strings.HasPrefix(partial, "-"):
		return flagNames(cmd, typed.given)
	case len(typed.args) == 0 && cmd.ValidArgsFunction != nil:
		// The first argument: a job id where the command completes one.
		// The session's memory stands in for the completion function,
		// which would connect to ask for the pending executions.
		ids := c.mem.jobIDs()
		if words[0] == "describe" { // the one command that takes $next
			ids = append([]string{jobs.NextJobID}, ids...)
		}
		return ids
	case partial == "":
		return flagNames(cmd, typed.given)
	}
	return nil
}

// typedWords is what the words after a command say, read as pflag will
// read them.
type typedWords struct {
	args  []string        // the arguments, flags and their values left out
	given map[string]bool // the flags given, by name
	// valueOf is the flag whose value the next word is: the last word is
	// a flag that takes one.
	valueOf *pflag.Flag
}

// readWords reads the words after cmd's name. It does not parse the
// values: --expected-version last is the shell's own, and not an int.
func readWords(cmd *cobra.Command, words []string) typedWords {
	typed := typedWords{given: map[string]bool{}}
	for i := 0; i < len(words); i++ {
		w := words[i]
		var takesNext *pflag.Flag
		switch {
		case w == "--":
			typed.args = append(typed.args, words[i+1:]...)
			return typed
		case strings.HasPrefix(w, "--"):
			name, _, inline := strings.Cut(w[2:], "=")
			if f := cmd.Flag(name); f != nil {
				typed.given[f.Name] = true
				if !inline && f.NoOptDefVal == "" {
					takesNext = f
				}
			}
		case strings.HasPrefix(w, "-") && w != "-":
			// Shorthands, perhaps run together (-vt NAME): the first that
			// takes a value takes the rest of the word, or the next word.
			for j, r := range w[1:] {
				if r >= utf8.RuneSelf {
					break // pflag's shorthands are one byte
				}
				f := cmd.Flags().ShorthandLookup(string(r))
				if f == nil {
					break
				}
				typed.given[f.Name] = true
				if f.NoOptDefVal == "" {
					if 2+j == len(w) {
						takesNext = f
					}
					break
				}
			}
		default:
			typed.args = append(typed.args, w)
		}
		if takesNext != nil {
			if i+1 == len(words) {
				typed.valueOf = takesNext
				return typed
			}
			i++
		}
	}
	return typed
}

// sessionFlags are the flags a line has no use for: connArgs gives every
// line the endpoint and client id; each line runs on the session's
// connection, which its certificate, key, CA and profile made; and a line
// acts on one thing (a fan-out is refused).
var sessionFlags = []string{"endpoint", "client-id", "cert", "key", "ca", "profile", "things", "connections", "parallel", "rate", "summary"}

// flagNames are the long names of cmd's flags that a line may still give:
// not hidden, not the session's, and not given already unless they repeat.
func flagNames(cmd *cobra.Command, given map[string]bool) []string {
	var names []string
	add := func(f *pflag.Flag) {
		repeats := strings.Contains(f.Value.Type(), "Slice") || strings.Contains(f.Value.Type(), "Array")
		if f.Hidden || slices.Contains(sessionFlags, f.Name) || (given[f.Name] && !repeats) {
			return
		}
		if f.NoOptDefVal == "true" && f.DefValue == "true" {
			names = append(names, "--"+f.Name+"=false") // given alone, it would change nothing
			return
		}
		names = append(names, "--"+f.Name)
	}
	cmd.LocalFlags().VisitAll(add)
	cmd.InheritedFlags().VisitAll(add)
	return names
}

// flagValues are the values the completion function registered for f
// offers (the one-shot command's completion), each after prefix.
func flagValues(cmd *cobra.Command, f *pflag.Flag, args []string, toComplete, prefix string) []string {
	complete, ok := cmd.GetFlagCompletionFunc(f.Name)
	if !ok {
		return nil
	}
	completions, directive := complete(cmd, args, toComplete)
	if directive&cobra.ShellCompDirectiveError != 0 {
		return nil
	}
	values := make([]string, 0, len(completions))
	for _, c := range completions {
		value, _, _ := strings.Cut(string(c), "\t") // a description
		values = append(values, prefix+value)
	}
	return values
}
