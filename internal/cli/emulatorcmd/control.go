package emulatorcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/config"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The control-plane verbs (`iotjobs emulator create-job` and the rest) are
// thin HTTP clients of a running emulator's control plane: each builds one
// request of the AWS IoT control-plane REST API, prints the answer's body
// (one JSON line, or a table on a terminal) and turns an AWS error into an
// exit code.

const (
	envEmulator        = "IOTJOBS_EMULATOR"
	defaultEmulatorURL = "http://127.0.0.1:8084"
)

// The output formats of the control-plane verbs: a person reads a table, a
// script reads the API's JSON.
const (
	outputTable  = "table"
	outputPretty = "pretty"
	outputJSON   = "json"
)

// newEmulatorControlCmds returns the control-plane verbs, to be added under
// `iotjobs emulator`.
func newEmulatorControlCmds(ios *iostreams.IOStreams) []*cobra.Command {
	return []*cobra.Command{
		newCreateJobCmd(ios),
		newDescribeJobCmd(ios),
		newListJobsCmd(ios),
		newCancelJobCmd(ios),
		newDeleteJobCmd(ios),
		newListExecutionsCmd(ios),
		newDescribeExecutionCmd(ios),
		newCancelExecutionCmd(ios),
		newDeleteExecutionCmd(ios),
		newGroupCmd(ios),
		newFaultCmd(ios),
	}
}

// controlOptions are the flags every control-plane verb shares.
type controlOptions struct {
	IO *iostreams.IOStreams

	Emulator string
	Output   string
	Timeout  time.Duration
	Verbose  bool
	Profile  string

	client *client
	// profile is the profile selectProfile picked, once.
	profile *config.Profile
}

func (o *controlOptions) addControlFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Emulator, "emulator", defaultEmulatorURL, "`URL` of the emulator's control plane (env "+envEmulator+")")
	f.StringVarP(&o.Output, "output", "o", "", "`FORMAT`: pretty (a table) or json (env "+cmdutil.EnvOutput+"; default: pretty on a terminal, json otherwise)")
	f.DurationVar(&o.Timeout, "timeout", cmdutil.DefaultTimeout, "bound on the whole request, a `DURATION` (env "+cmdutil.EnvTimeout+")")
	cmdutil.AddNoColorFlag(cmd, o.IO)
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "trace each HTTP request and answer, bodies included, on stderr")
	f.StringVar(&o.Profile, "profile", "", "`NAME` of a profile in the profiles file, for its emulator, thing, output and timeout (env "+cmdutil.EnvProfile+")")
	_ = cmd.RegisterFlagCompletionFunc("profile", cmdutil.CompleteProfileNames)
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputPretty, outputJSON}, cobra.ShellCompDirectiveNoFileComp))
}

// complete applies the environment and checks the shared flags; errors are
// UsageErrors (exit 2).
func (o *controlOptions) complete(cmd *cobra.Command) error {
	profile, err := o.selectProfile(cmd)
	if err != nil {
		return err
	}
	layered(cmd, "emulator", envEmulator, profile.Emulator, &o.Emulator)
	layered(cmd, "output", cmdutil.EnvOutput, profile.Output, &o.Output)
	timeout := o.Timeout.String()
	layered(cmd, "timeout", cmdutil.EnvTimeout, profile.Timeout, &timeout)
	if o.Timeout, err = time.ParseDuration(timeout); err != nil {
		from := cmdutil.EnvTimeout
		if os.Getenv(cmdutil.EnvTimeout) == "" {
			from = fmt.Sprintf("timeout of profile %q", o.Profile)
		}
		return cmdutil.Usagef("invalid %s %q: want a duration such as 10s", from, timeout)
	}
	u, err := parseEmulatorURL(o.Emulator)
	if err != nil {
		return err
	}
	if o.Timeout <= 0 {
		return cmdutil.Usagef("invalid --timeout %s: must be a positive duration such as 10s", o.Timeout)
	}
	o.client = &client{base: u, timeout: o.Timeout}
	if o.Verbose {
		errOut := o.IO.ErrOut
		o.client.trace = func(format string, args ...any) { fmt.Fprintf(errOut, format+"\n", args...) }
	}
	switch o.Output = strings.ToLower(o.Output); o.Output {
	case "":
		o.Output = outputJSON
		if o.IO.IsStdoutTTY() {
			o.Output = outputTable
		}
	case outputPretty, outputTable:
		// pretty, as for every other command; table, as it reads here.
		o.Output = outputTable
	case outputJSON:
	default:
		return cmdutil.Usagef("invalid --output %q: use pretty or json", o.Output)
	}
	return nil
}

// show prints an operation's answer: the body as one JSON line, or on a
// terminal the table that table writes.
func show[T any](o *controlOptions, a answer[T], err error, table func(w io.Writer, out T)) error {
	if err != nil {
		return err
	}
	if o.Output == outputTable {
		w := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
		table(w, a.out)
		return w.Flush()
	}
	var line bytes.Buffer
	if err := json.Compact(&line, a.body); err != nil {
		return fmt.Errorf("the emulator's answer is not JSON: %w", err)
	}
	line.WriteByte('\n')
	_, err = o.IO.Out.Write(line.Bytes())
	return err
}

// done reports an operation without output: nothing on stdout; on a
// terminal, what was done on stderr.
func (o *controlOptions) done(err error, what string) error {
	if err == nil && o.IO.IsStderrTTY() {
		fmt.Fprintln(o.IO.ErrOut, color.GreenString(what))
	}
	return err
}

// moreHint tells a person at a terminal how to get the next page.
func (o *controlOptions) moreHint(nextToken string) {
	if nextToken != "" && o.IO.IsStderrTTY() {
		fmt.Fprintf(o.IO.ErrOut, "more results: add --next-token %s\n", nextToken)
	}
}

// pageFlags are the filter and paging flags of the list verbs.
type pageFlags struct {
	Status     string
	MaxResults int
	NextToken  string
}

func (p *pageFlags) add(cmd *cobra.Command, statuses []string) {
	f := cmd.Flags()
	f.StringVar(&p.Status, "status", "", "list only those in `STATUS`: "+strings.Join(statuses, ", "))
	f.IntVar(&p.MaxResults, "max-results", 0, fmt.Sprintf("at most `N` per page, 1..%d (default %d)", iotapi.MaxListResults, iotapi.MaxListResults))
	f.StringVar(&p.NextToken, "next-token", "", "`TOKEN` of the page to list, from the previous page's nextToken")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(statuses, cobra.ShellCompDirectiveNoFileComp))
}

// check checks the flags against the statuses the list takes.
func (p *pageFlags) check(cmd *cobra.Command, statuses []string) error {
	// Statuses are upper case on the wire; accept any case at the prompt.
	p.Status = strings.ToUpper(p.Status)
	if p.Status != "" && !slices.Contains(statuses, p.Status) {
		return cmdutil.Usagef("invalid --status %q: use one of %s", p.Status, strings.Join(statuses, ", "))
	}
	if cmd.Flags().Changed("max-results") {
		if err := iotapi.CheckMaxResults(int64(p.MaxResults)); err != nil {
			return cmdutil.Usagef("invalid --max-results %d: must be between 1 and %d", p.MaxResults, iotapi.MaxListResults)
		}
	}
	return nil
}

// fields prints name/value rows, leaving out empty values.
func fields(w io.Writer, rows ...[2]string) {
	for _, r := range rows {
		if r[1] != "" {
			fmt.Fprintf(w, "%s\t%s\n", r[0], r[1])
		}
	}
}

// readDocument reads --document: inline JSON when it starts with '{' (or
// '[', to say that it must be an object), "-" for stdin, otherwise a file
// name.
func readDocument(in io.Reader, arg string) (string, error) {
	var (
		data []byte
		err  error
	)
	switch trimmed := strings.TrimSpace(arg); {
	case strings.HasPrefix(trimmed, "{"), strings.HasPrefix(trimmed, "["):
		data = []byte(trimmed)
	case arg == "-":
		data, err = io.ReadAll(in)
	case arg == "":
		return "", cmdutil.Usagef("no job document: give --document FILE, - (stdin) or the JSON itself")
	default:
		data, err = os.ReadFile(arg)
	}
	if err != nil {
		return "", cmdutil.Usagef("read the job document: %v", err)
	}
	doc := string(bytes.TrimSpace(data))
	if err := iotapi.CheckDocument(doc); err != nil {
		return "", cmdutil.Usagef("invalid --document: %s", serviceMessage(err))
	}
	return doc, nil
}

// jobVerb is the RunE of a verb whose one argument is a job id: it checks
// the id, then the verb's own flags (check, when not nil), then the shared
// ones, before run sends anything.
func jobVerb(jobID *string, ctl *controlOptions, check func(*cobra.Command) error, run func(context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		id, err := cmdutil.JobIDArg(args[0], "")
		if err != nil {
			return err
		}
		*jobID = id
		if check != nil {
			if err := check(cmd); err != nil {
				return err
			}
		}
		if err := ctl.complete(cmd); err != nil {
			return err
		}
		return run(cmd.Context())
	}
}

// selectProfile picks the profile as the device commands do (--profile,
// IOTJOBS_PROFILE, default_profile) and returns it, zero when none is.
func (o *controlOptions) selectProfile(cmd *cobra.Command) (config.Profile, error) {
	if o.profile != nil {
		return *o.profile, nil
	}
	conn := cmdutil.ConnOptions{IO: o.IO, Profile: o.Profile}
	if err := conn.SelectProfile(cmd); err != nil {
		return config.Profile{}, err
	}
	values := conn.ProfileValues()
	o.profile = &values
	o.Profile, _ = conn.SelectedProfile()
	return values, nil
}

// layered fills a setting the user did not give as a flag from its
// environment variable, else from the profile's value, as the device
// commands' settings are (cmdutil.ConnOptions.Resolve).
func layered(cmd *cobra.Command, flag, env, profileValue string, dst *string) {
	switch {
	case cmd.Flags().Changed(flag):
	case os.Getenv(env) != "":
		*dst = os.Getenv(env)
	case profileValue != "":
		*dst = profileValue
	}
}

// checkThingFlag resolves the --thing of the execution verbs (the flag,
// else IOTJOBS_THING, else the profile's thing) and checks it.
func (o *controlOptions) checkThingFlag(cmd *cobra.Command, thing *string) error {
	profile, err := o.selectProfile(cmd)
	if err != nil {
		return err
	}
	layered(cmd, "thing", cmdutil.EnvThing, profile.Thing, thing)
	if *thing == "" {
		return cmdutil.Usagef("no thing given: pass -t/--thing NAME, or set %s", cmdutil.EnvThing)
	}
	if err := jobs.ValidateThingName(*thing); err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	return nil
}

// serviceMessage is the message of one of iotapi's checks, for a usage
// error that names the flag itself.
func serviceMessage(err error) string {
	var se *iotapi.ServiceError
	if errors.As(err, &se) {
		return se.Message
	}
	return err.Error()
}

// addThingFlag binds the --thing of the execution verbs.
func (o *controlOptions) addThingFlag(cmd *cobra.Command, dst *string, usage string) {
	cmd.Flags().StringVarP(dst, "thing", "t", "", "`NAME` of the thing "+usage)
	_ = cmd.RegisterFlagCompletionFunc("thing", o.completeThings)
}

// parseEmulatorURL checks --emulator: the control plane's base URL.
func parseEmulatorURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, cmdutil.Usagef("invalid --emulator %q: want the control plane's base URL, e.g. %s", s, defaultEmulatorURL)
	}
	return u, nil
}
