package cmdutil

import (
	"slices"
	"strings"
)

// hintFlags are the connection flags a suggested command carries when the
// user gave them on the command line, with the spelling it uses. The
// environment and the profile still hold the settings that came from them.
var hintFlags = []struct{ name, spelling string }{
	{"endpoint", "-e"},
	{"profile", "--profile"},
	{"client-id", "--client-id"},
	{"cert", "--cert"},
	{"key", "--key"},
	{"ca", "--ca"},
}

// Suggest spells a command that runs as printed: iotjobs and args, then
// -t THING and the connection flags given on this command line. Complete
// must have succeeded.
func (o *ConnOptions) Suggest(args ...string) string {
	words := []string{"iotjobs"}
	for _, a := range args {
		words = append(words, ShellQuote(a))
	}
	if o.Thing != "" {
		words = append(words, "-t", ShellQuote(o.Thing))
	}
	for _, f := range hintFlags {
		if !slices.Contains(o.given, f.name) {
			continue
		}
		value := map[string]string{"endpoint": o.Endpoint, "profile": o.Profile, "client-id": o.ClientID, "cert": o.Cert, "key": o.Key, "ca": o.CA}[f.name]
		words = append(words, f.spelling, ShellQuote(value))
	}
	return strings.Join(words, " ")
}

// ShellQuote quotes s for a POSIX shell when it needs it.
func ShellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'$`\\|&;<>(){}[]*?!#~%") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
