package cmdutil

import "github.com/spf13/cobra"

// annotationStream marks a command that runs until the user stops it. For
// such a command Ctrl-C and SIGTERM are the normal way to end, and app
// turns them into exit 0 instead of 130 (cli.md).
const annotationStream = "iotjobs/stream"

// MarkStream marks cmd as one that streams until stopped (see IsStream).
func MarkStream(cmd *cobra.Command) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[annotationStream] = "true"
}

// IsStream reports whether cmd streams until stopped, so that app can map
// an interrupt to exit 0.
func IsStream(cmd *cobra.Command) bool {
	return cmd != nil && cmd.Annotations[annotationStream] == "true"
}
