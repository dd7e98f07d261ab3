package cmdutil

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// groupAnnotation marks the flags that --help and the man pages list apart
// from a command's own, as gh lists inherited flags apart.
const groupAnnotation = "iotjobs_flag_group"

// connectionGroup is the group of the flags every device command shares.
const connectionGroup = "connection"

// markConnectionFlags puts the named flags of cmd in the connection group.
func markConnectionFlags(cmd *cobra.Command, names ...string) {
	for _, name := range names {
		_ = cmd.Flags().SetAnnotation(name, groupAnnotation, []string{connectionGroup})
	}
}

// OwnFlags are the flags of cmd that are its own: not in the connection
// group, not inherited.
func OwnFlags(cmd *cobra.Command) *pflag.FlagSet { return splitFlags(cmd, false) }

// ConnectionFlags are the connection flags cmd shares with every device
// command; empty for the others.
func ConnectionFlags(cmd *cobra.Command) *pflag.FlagSet { return splitFlags(cmd, true) }

func splitFlags(cmd *cobra.Command, connection bool) *pflag.FlagSet {
	set := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if inGroup := len(f.Annotations[groupAnnotation]) > 0; inGroup == connection {
			set.AddFlag(f)
		}
	})
	return set
}

// UsageTemplate is cobra's, with the connection flags listed apart from
// the command's own.
const UsageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}

Available Commands:{{range .Commands}}{{if (or .IsAvailableCommand (eq .Name "help"))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{if (ownFlags .).HasAvailableFlags}}

Flags:
{{(ownFlags .).FlagUsages | trimTrailingWhitespaces}}{{end}}{{if (connectionFlags .).HasAvailableFlags}}

Connection flags (shared by the device commands):
{{(connectionFlags .).FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{.InheritedFlags.FlagUsages | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

// SetUsage gives root and its subcommands UsageTemplate.
func SetUsage(root *cobra.Command) {
	cobra.AddTemplateFunc("ownFlags", OwnFlags)
	cobra.AddTemplateFunc("connectionFlags", ConnectionFlags)
	root.SetUsageTemplate(UsageTemplate)
}
