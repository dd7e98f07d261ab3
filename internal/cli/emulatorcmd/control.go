package emulatorcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
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
	}
}

// controlOptions are the flags every control-plane verb shares.
type controlOptions struct {
	IO *iostreams.IOStreams

	Emulator string
	Output   string
	Timeout  time.Duration

	base *url.URL
}

func (o *controlOptions) addControlFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.Emulator, "emulator", defaultEmulatorURL, "`URL` of the emulator's control plane (env "+envEmulator+")")
	f.StringVarP(&o.Output, "output", "o", "", "`FORMAT`: pretty (a table) or json (env "+cmdutil.EnvOutput+"; default: pretty on a terminal, json otherwise)")
	f.DurationVar(&o.Timeout, "timeout", cmdutil.DefaultTimeout, "bound on the whole request, a `DURATION`")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{outputPretty, outputJSON}, cobra.ShellCompDirectiveNoFileComp))
}

// complete applies the environment and checks the shared flags; errors are
// UsageErrors (exit 2).
func (o *controlOptions) complete(cmd *cobra.Command) error {
	cmdutil.FromEnv(cmd, "emulator", envEmulator, &o.Emulator)
	cmdutil.FromEnv(cmd, "output", cmdutil.EnvOutput, &o.Output)
	u, err := url.Parse(o.Emulator)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return cmdutil.Usagef("invalid --emulator %q: want the control plane's base URL, e.g. %s", o.Emulator, defaultEmulatorURL)
	}
	o.base = u
	switch o.Output {
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
	if o.Timeout <= 0 {
		return cmdutil.Usagef("invalid --timeout %s: must be a positive duration such as 10s", o.Timeout)
	}
	return nil
}

// ControlPlaneError is an error answer of the control plane: the AWS
// exception name and its message (exit 1).
type ControlPlaneError struct {
	Type    string // e.g. ResourceNotFoundException; "HTTP 502" when the answer is not AWS-shaped
	Message string
}

func (e *ControlPlaneError) Error() string {
	if e.Message == "" {
		return e.Type
	}
	return e.Type + ": " + e.Message
}

// controlRequest is one call of the control-plane API.
type controlRequest struct {
	method string
	path   []string // segments, escaped when joined
	query  url.Values
	body   any // nil sends no body
}

// table prints a successful answer's body for a person.
type table func(w io.Writer, body []byte) error

// call sends req and returns the body of a 2xx answer.
func (o *controlOptions) call(ctx context.Context, req controlRequest) ([]byte, error) {
	segments := make([]string, len(req.path))
	for i, seg := range req.path {
		segments[i] = url.PathEscape(seg)
	}
	u := o.base.JoinPath(segments...)
	u.RawQuery = req.query.Encode()
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, o.explain(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, o.explain(ctx, err)
	}
	if resp.StatusCode/100 == 2 {
		return data, nil
	}
	return nil, answerError(resp, data)
}

// explain turns a failed exchange into the error of its exit code: an
// interrupt, a timeout (exit 4), or no emulator there (exit 3).
func (o *controlOptions) explain(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case ctx.Err() != nil:
		return &mqttclient.TimeoutError{Op: "the control-plane request to " + o.base.Host, After: o.Timeout,
			Hint: "is " + o.base.String() + " an iotjobs emulator's control plane?"}
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) && netErr.Op == "dial" {
		err = netErr.Err
	}
	return &mqttclient.ConnectionError{Op: "connect to the emulator at " + o.base.String(), Err: err,
		Hint: "start one with `iotjobs emulator`, or point --emulator (env " + envEmulator + ") at its http address"}
}

// answerError reads an error answer in the AWS restJson1 shape: the
// exception in X-Amzn-ErrorType (possibly with a ":..." suffix), the text in
// "message".
func answerError(resp *http.Response, data []byte) error {
	var shape struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(data, &shape)
	name, _, _ := strings.Cut(resp.Header.Get("X-Amzn-ErrorType"), ":")
	if name == "" {
		name = "HTTP " + resp.Status
		if shape.Message == "" {
			shape.Message = strings.TrimSpace(string(data))
		}
	}
	return &ControlPlaneError{Type: name, Message: shape.Message}
}

// run sends req and prints the answer: the body as one JSON line, or
// printed by show on a terminal. An operation with no output (show is nil)
// prints nothing on stdout; on a terminal stderr says done.
func (o *controlOptions) run(ctx context.Context, req controlRequest, show table, done string) error {
	data, err := o.call(ctx, req)
	if err != nil {
		return err
	}
	switch {
	case show == nil:
		if o.IO.IsStderrTTY() {
			fmt.Fprintln(o.IO.ErrOut, color.GreenString(done))
		}
		return nil
	case o.Output == outputTable:
		w := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
		if err := show(w, data); err != nil {
			return fmt.Errorf("the emulator's answer is not what the control plane sends: %w", err)
		}
		return w.Flush()
	}
	var line bytes.Buffer
	if err := json.Compact(&line, data); err != nil {
		return fmt.Errorf("the emulator's answer is not JSON: %w", err)
	}
	line.WriteByte('\n')
	_, err = o.IO.Out.Write(line.Bytes())
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
	f.IntVar(&p.MaxResults, "max-results", 0, fmt.Sprintf("at most `N` per page, 1..%d (default %d)", emulator.MaxListResults, emulator.MaxListResults))
	f.StringVar(&p.NextToken, "next-token", "", "`TOKEN` of the page to list, from the previous page's nextToken")
	_ = cmd.RegisterFlagCompletionFunc("status", cobra.FixedCompletions(statuses, cobra.ShellCompDirectiveNoFileComp))
}

// query checks the flags and returns them as the list operations' query.
func (p *pageFlags) query(cmd *cobra.Command, statuses []string) (url.Values, error) {
	q := url.Values{}
	if p.Status != "" {
		if !slices.Contains(statuses, p.Status) {
			return nil, cmdutil.Usagef("invalid --status %q: use one of %s", p.Status, strings.Join(statuses, ", "))
		}
		q.Set("status", p.Status)
	}
	if cmd.Flags().Changed("max-results") {
		if p.MaxResults < 1 || p.MaxResults > emulator.MaxListResults {
			return nil, cmdutil.Usagef("invalid --max-results %d: must be between 1 and %d", p.MaxResults, emulator.MaxListResults)
		}
		q.Set("maxResults", fmt.Sprint(p.MaxResults))
	}
	if p.NextToken != "" {
		q.Set("nextToken", p.NextToken)
	}
	return q, nil
}

// epochSeconds is a control-plane timestamp: seconds since the epoch as a
// JSON number, possibly with a fraction.
type epochSeconds float64

// String is the local time, "" when unset.
func (t epochSeconds) String() string {
	if t == 0 {
		return ""
	}
	return time.UnixMilli(int64(float64(t) * 1000)).Local().Format(time.DateTime)
}

// thingOfARN shows a thing ARN as the thing name people use.
func thingOfARN(arn string) string {
	if _, name, ok := strings.Cut(arn, ":thing/"); ok {
		return name
	}
	return arn
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
	data = bytes.TrimSpace(data)
	var obj map[string]json.RawMessage
	switch {
	case len(data) > jobs.MaxJobDocumentBytes:
		return "", cmdutil.Usagef("the job document is %d bytes, the limit is %d", len(data), jobs.MaxJobDocumentBytes)
	case json.Unmarshal(data, &obj) != nil || obj == nil:
		return "", cmdutil.Usagef("the job document must be a JSON object, e.g. {\"operation\":\"reboot\"}")
	}
	return string(data), nil
}

// jobIDArg is the <job-id> argument of a verb, checked.
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

// checkThingFlag checks the --thing of the execution verbs.
func checkThingFlag(thing string) error {
	if thing == "" {
		return cmdutil.Usagef("no thing given: pass -t/--thing NAME")
	}
	if err := jobs.ValidateThingName(thing); err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	return nil
}

// addThingFlag binds the --thing of the execution verbs.
func addThingFlag(cmd *cobra.Command, dst *string, usage string) {
	cmd.Flags().StringVarP(dst, "thing", "t", "", "`NAME` of the thing "+usage)
}
