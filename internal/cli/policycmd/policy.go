// Package policycmd is `iotjobs policy`: the least-privilege AWS IoT policy
// the device commands need, and the check of a policy against them, with
// the evaluator the emulator's --policy uses.
package policycmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/fatih/color"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/policy"
	"github.com/iotjobs/iotjobs/internal/render"
)

type policyOptions struct {
	IO *iostreams.IOStreams

	Things   []string
	For      []string
	ClientID string
	JobID    string
	Region   string
	Account  string
	Check    []string
	Output   string
	Verbose  bool

	format render.Format
}

// NewPolicyCmd is `iotjobs policy`.
func NewPolicyCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &policyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "policy -t THING [--for COMMAND,...] [--check FILE]",
		Short: "Print the least-privilege AWS IoT policy the commands need, or check one",
		Long: `Print the AWS IoT policy that lets the chosen device commands (--for; all of
them by default) run as THING, and nothing more, ready for
aws iot create-policy --policy-document file://policy.json. It lists what
iotjobs does on the wire: each command connects with its client id (the
thing's name unless --client-id says otherwise), publishes its requests and
subscribes to and receives their replies; watch and wait subscribe to
notify and notify-next.

A thing name with * (e.g. 'sensor-*') asks for many things at once, as
get-pending, describe and wait do with -t a,b or --things: the client id is
then iotjobs-* unless --client-id is given, the replies come without a
subscription (AWS IoT sends them to the requester), and wait subscribes to
$aws/things/+/jobs/notify and .../notify-next.

With --check FILE (repeatable: the policies attached to one certificate),
nothing is printed but the verdict: for each command, whether the policy
lets it through for THING (several: -t a,b) and, if not, which permission
it lacks and which statement denies it (or that none allows it). It uses
the evaluator of iotjobs emulator --policy; see docs/policies.md. Exit
status: 0 when every command is allowed, 1 otherwise, 2 on bad input.

Resources name --region and --account; * (any) unless given.`,
		Example: `  $ iotjobs policy -t my-thing --for get-pending,update,watch --region eu-west-1 --account 123456789012 > policy.json
  $ aws iot create-policy --policy-name my-thing-jobs --policy-document file://policy.json
  $ iotjobs policy -t 'sensor-*' --for get-pending,describe,wait
  $ iotjobs policy -t my-thing --check device-policy.json
  $ iotjobs policy -t my-thing --for update --check device-policy.json -o json | jq '.[].allowed'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			if len(opts.Check) > 0 {
				return runCheck(opts)
			}
			return runGenerate(opts)
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&opts.Things, "thing", "t", nil, "`NAME` of the thing (repeatable, or comma-separated); a name with * stands for many things (required)")
	f.StringSliceVar(&opts.For, "for", nil, "the `COMMAND`s to allow: "+strings.Join(commands, ", ")+" (default: all)")
	f.StringVar(&opts.ClientID, "client-id", "", "client `ID` the commands connect with (default: the thing's name; iotjobs-* for many things)")
	f.StringVar(&opts.JobID, "job", "*", "the job `ID` the job requests (describe, update, wait) may name; * for any")
	f.StringVar(&opts.Region, "region", "*", "the `REGION` in the resources' ARNs")
	f.StringVar(&opts.Account, "account", "*", "the `ACCOUNT` id in the resources' ARNs")
	f.StringArrayVar(&opts.Check, "check", nil, "check the policy document in `FILE` instead (repeatable)")
	cmdutil.AddOutputFlag(cmd, &opts.Output, "pretty (indented, or a table with --check) or json (one line)")
	cmdutil.AddNoColorFlag(cmd, ios)
	f.BoolVarP(&opts.Verbose, "verbose", "v", false, "say on stderr why each permission is needed")
	_ = cmd.MarkFlagFilename("check", "json")
	_ = cmd.RegisterFlagCompletionFunc("for", cobra.FixedCompletions(commands, cobra.ShellCompDirectiveNoFileComp))
	for _, name := range []string{"thing", "client-id", "job", "region", "account"} {
		_ = cmd.RegisterFlagCompletionFunc(name, cobra.NoFileCompletions)
	}
	return cmd
}

func (o *policyOptions) complete(cmd *cobra.Command) (err error) {
	if o.format, err = cmdutil.OutputFormat(cmd, o.IO, o.Output); err != nil {
		return err
	}
	if len(o.Things) == 0 {
		return cmdutil.Usagef("policy needs the thing: -t NAME (or a pattern such as 'sensor-*')")
	}
	for _, thing := range o.Things {
		if err := jobs.ValidateThingName(strings.ReplaceAll(thing, "*", "x")); err != nil {
			return cmdutil.Usagef("invalid --thing %q: %v", thing, err)
		}
		if strings.Contains(thing, "*") && len(o.Check) > 0 {
			return cmdutil.Usagef("--check evaluates real requests: give thing names, not the pattern %q (several: -t a,b)", thing)
		}
	}
	if len(o.Check) == 0 && len(o.Things) > 1 {
		return cmdutil.Usagef("give one thing, or a pattern with * for many (e.g. 'sensor-*'), not %s", strings.Join(o.Things, ","))
	}
	if o.JobID != "*" {
		if err := jobs.ValidateJobID(o.JobID); err != nil {
			return cmdutil.Usagef("invalid --job %q: %v", o.JobID, err)
		}
	}
	if len(o.For) == 0 {
		o.For = commands
	}
	for i, c := range o.For {
		o.For[i] = strings.ToLower(strings.TrimSpace(c))
		if !slices.Contains(commands, o.For[i]) {
			return cmdutil.Usagef("invalid --for %q: use %s", c, strings.Join(commands, ", "))
		}
	}
	for _, v := range []struct{ flag, value string }{{"region", o.Region}, {"account", o.Account}} {
		if v.value == "" || strings.ContainsAny(v.value, ":/ ") {
			return cmdutil.Usagef("invalid --%s %q: want e.g. eu-west-1 or 123456789012, or * for any", v.flag, v.value)
		}
	}
	return nil
}

// target is the target of thing for the commands.
func (o *policyOptions) target(thing string) target {
	t := target{thing: thing, clientID: o.ClientID, jobID: o.JobID, many: strings.Contains(thing, "*") || len(o.Things) > 1}
	if t.clientID == "" {
		t.clientID = thing
		if t.many {
			t.clientID = "iotjobs-*"
		}
	}
	return t
}

// document is the generated policy.
type document struct {
	Version   string      `json:"Version"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

func runGenerate(o *policyOptions) error {
	t := o.target(o.Things[0])
	resources := map[string][]string{}
	for _, c := range o.For {
		list, err := needs(c, t)
		if err != nil {
			return cmdutil.Usagef("%v", err)
		}
		for _, n := range list {
			arn := policy.ARN(o.Region, o.Account, n.kind, n.name)
			if o.Verbose {
				fmt.Fprintf(o.IO.ErrOut, "%s: %s %s: to %s\n", c, n.action, arn, n.why)
			}
			if !slices.Contains(resources[n.action], arn) {
				resources[n.action] = append(resources[n.action], arn)
			}
		}
	}
	doc := document{Version: "2012-10-17"}
	for _, action := range policy.Actions {
		if len(resources[action]) > 0 {
			doc.Statement = append(doc.Statement, statement{
				Sid: "Iotjobs" + strings.TrimPrefix(action, "iot:"), Effect: string(policy.Allow),
				Action: []string{action}, Resource: resources[action],
			})
		}
	}
	var out []byte
	var err error
	if o.format == render.JSON {
		out, err = json.Marshal(doc)
	} else {
		out, err = json.MarshalIndent(doc, "", "  ")
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(o.IO.Out, string(out))
	return err
}

// verdict is what --check says of one command for one thing.
type verdict struct {
	Command string   `json:"command"`
	Thing   string   `json:"thing"`
	Allowed bool     `json:"allowed"`
	Denied  []denial `json:"denied,omitempty"`
}

type denial struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
	Why      string `json:"why"`
	Decision string `json:"decision"`
}

// errDenied is the exit 1 of a check that found a command denied.
var errDenied = errors.New("the policy does not allow every command")

func runCheck(o *policyOptions) error {
	var set policy.Set
	for _, path := range o.Check {
		data, err := os.ReadFile(path)
		if err != nil {
			return cmdutil.Usagef("read --check: %v", err)
		}
		doc, err := policy.Parse(path, data)
		if err != nil {
			return cmdutil.Usagef("%v", err)
		}
		set = append(set, doc)
	}
	region, account := o.Region, o.Account
	if r, a, ok := set.Account(); ok {
		region, account = r, a // evaluate in the account the policy names
	}
	var verdicts []verdict
	for _, c := range o.For {
		for _, thing := range o.Things {
			t := o.target(thing)
			if t.clientID == "iotjobs-*" {
				t.clientID = "iotjobs-0123456789ab" // what a fan-out connects as
			}
			if t.jobID == "*" {
				t.jobID = "example-job"
			}
			list, err := needs(c, t)
			if err != nil {
				return cmdutil.Usagef("%v", err)
			}
			// The certificate is the thing's: its variables resolve when
			// the client id is the thing.
			conn := policy.Connection{ClientID: t.clientID, Thing: thing}
			v := verdict{Command: c, Thing: thing, Allowed: true}
			for _, n := range list {
				arn := policy.ARN(region, account, n.kind, n.name)
				d := set.Evaluate(conn, policy.Request{Action: n.action, Resource: arn})
				if o.Verbose {
					fmt.Fprintf(o.IO.ErrOut, "%s %s: %s %s: %s\n", c, thing, n.action, arn, d)
				}
				if !d.Allowed {
					v.Allowed = false
					v.Denied = append(v.Denied, denial{Action: n.action, Resource: arn, Why: n.why, Decision: d.String()})
				}
			}
			verdicts = append(verdicts, v)
		}
	}
	if err := printVerdicts(o, verdicts); err != nil {
		return err
	}
	for _, v := range verdicts {
		if !v.Allowed {
			return errDenied
		}
	}
	return nil
}

func printVerdicts(o *policyOptions, verdicts []verdict) error {
	if o.format == render.JSON {
		return cmdutil.WriteJSONLine(o.IO.Out, verdicts)
	}
	ok, denied := fmt.Sprint, fmt.Sprint
	if o.IO.ColorOnStdout() {
		ok, denied = color.New(color.FgGreen).Sprint, color.New(color.FgRed).Sprint
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "COMMAND\tTHING\tVERDICT\tFIRST DENIAL")
	for _, v := range verdicts {
		if v.Allowed {
			fmt.Fprintf(w, "%s\t%s\t%s\t\n", v.Command, v.Thing, ok("allowed"))
			continue
		}
		d := v.Denied[0]
		fmt.Fprintf(w, "%s\t%s\t%s\t%s %s (to %s): %s\n", v.Command, v.Thing, denied("denied"), d.Action, d.Resource, d.Why, d.Decision)
	}
	return w.Flush()
}
