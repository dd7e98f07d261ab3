package cmdutil

import (
	"errors"
	"strings"

	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/spf13/cobra"
)

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

// PolicyCheckHint is, for a connection the server closed right after
// what cmd sent (how AWS IoT answers what a policy denies), the command
// that checks a policy against cmd; "" otherwise.
func PolicyCheckHint(cmd *cobra.Command, err error) string {
	var ce *mqttclient.ConnectionError
	if cmd == nil || !errors.As(err, &ce) || !ce.PolicySuspect {
		return ""
	}
	thing := "THING"
	if f := cmd.Flags().Lookup("thing"); f != nil && f.Value.String() != "" {
		thing, _, _ = strings.Cut(f.Value.String(), ",")
	}
	words := []string{"policy", "-t", thing, "--for", cmd.Name()}
	if f := cmd.Flags().Lookup("client-id"); f != nil && f.Changed {
		words = append(words, "--client-id", f.Value.String())
	}
	return "check the certificate's policy with: iotjobs " + ShellJoin(append(words, "--check")...) + " POLICY.json"
}
