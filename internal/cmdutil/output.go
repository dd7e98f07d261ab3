package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/render"
)

// Cell shows an empty table cell as "-", so columns stay readable.
func Cell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WriteJSONLine writes v as one compact JSON line.
func WriteJSONLine(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// AddNoColorFlag binds --no-color to cmd: given, it turns colour off on ios
// at once, before the command runs, so every command takes it the same way.
func AddNoColorFlag(cmd *cobra.Command, ios *iostreams.IOStreams) {
	cmd.Flags().Var(noColorFlag{ios}, "no-color", "no colour in output (env NO_COLOR)")
	cmd.Flags().Lookup("no-color").NoOptDefVal = "true"
}

// noColorFlag is --no-color: a boolean that applies itself to the streams.
type noColorFlag struct{ ios *iostreams.IOStreams }

func (f noColorFlag) String() string   { return strconv.FormatBool(f.ios != nil && f.ios.NoColor()) }
func (f noColorFlag) Type() string     { return "bool" }
func (f noColorFlag) IsBoolFlag() bool { return true }
func (f noColorFlag) Set(s string) error {
	off, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, e.g. --no-color or --no-color=true")
	}
	if off {
		f.ios.SetNoColor(true)
	}
	return nil
}

// AddOutputFlag binds -o/--output to cmd, for a command without connection
// settings; OutputFormat reads it.
func AddOutputFlag(cmd *cobra.Command, dst *string, usage string) {
	cmd.Flags().StringVarP(dst, "output", "o", "", "`FORMAT`: "+usage+" (env "+EnvOutput+"; default: pretty on a terminal, json otherwise)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(render.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
}

// OutputFormat is the format of -o (or IOTJOBS_OUTPUT when -o is not
// given), by default pretty on a terminal and json otherwise; a bad value
// is a usage error naming where it came from.
func OutputFormat(cmd *cobra.Command, ios *iostreams.IOStreams, value string) (render.Format, error) {
	from := "--output"
	if !cmd.Flags().Changed("output") {
		value, from = os.Getenv(EnvOutput), EnvOutput
	}
	if value == "" {
		return render.DefaultFormat(ios), nil
	}
	f, err := render.ParseFormat(value)
	if err != nil {
		return "", Usagef("invalid %s %q: use pretty or json, e.g. -o json", from, value)
	}
	return f, nil
}
