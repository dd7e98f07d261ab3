package cmdutil

import "strings"

// Suggest spells a command that runs as printed: iotjobs and args, then
// -t THING and the connection flags given on this command line (the
// environment and the profile still hold the settings that came from
// them). Complete must have succeeded.
func (o *ConnOptions) Suggest(args ...string) string {
	words := append([]string{"iotjobs"}, args...)
	if o.Thing != "" {
		words = append(words, "-t", o.Thing)
	}
	for _, f := range []struct{ name, spelling, value string }{
		{"endpoint", "-e", o.Endpoint},
		{"profile", "--profile", o.Profile},
		{"client-id", "--client-id", o.ClientID},
		{"cert", "--cert", o.Cert},
		{"key", "--key", o.Key},
		{"ca", "--ca", o.CA},
	} {
		if o.origins[f.name].Layer == layerFlag {
			words = append(words, f.spelling, f.value)
		}
	}
	return ShellJoin(words...)
}

// ShellJoin joins words into a POSIX shell command line, quoting those
// that need it.
func ShellJoin(words ...string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellQuote(w)
	}
	return strings.Join(quoted, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'$`\\|&;<>(){}[]*?!#~%") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
