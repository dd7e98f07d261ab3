package configcmd

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/render"
)

type configListOptions struct {
	conn    cmdutil.ConnOptions
	verbose bool
}

type configShowOptions struct {
	conn    cmdutil.ConnOptions
	verbose bool

	// values are the resolved settings by flag name.
	values map[string]string
}

func NewConfigCmd(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config <command>",
		Short: "Show the profiles and the resolved connection settings",
		Long: `Profiles are named sets of connection settings in the profiles file,
$XDG_CONFIG_HOME/iotjobs/config.toml (~/.config/iotjobs/config.toml when
XDG_CONFIG_HOME is not set):

  default_profile = "lab"            # optional: used when none is named

  [profiles.lab]
  endpoint = "mqtt://127.0.0.1:1883"
  thing = "lab-thing-1"
  emulator = "http://127.0.0.1:8084" # the control plane of iotjobs emulator ...

  [profiles.prod-eu]
  endpoint = "a1b2c3-ats.iot.eu-west-1.amazonaws.com"
  thing = "my-thing"
  client_id = "my-thing-operator"
  cert = "~/certs/my-thing.cert.pem"  # ~ and paths relative to this file
  key = "~/certs/my-thing.private.key"
  ca = "AmazonRootCA1.pem"
  output = "json"
  timeout = "30s"

A device command, and a control-plane verb of iotjobs emulator, uses the
profile named by --profile, else by IOTJOBS_PROFILE, else default_profile.
Each setting comes from its flag, else its environment variable, else the
profile, else the default. --profile '' uses no profile. Unknown keys in a
profile are an error when it is used, and a warning otherwise. A plain
mqtt:// endpoint given as a flag or variable drops the profile's cert, key
and ca, with a note. The file is edited by hand; iotjobs never
writes it, and never reads the certificate and key files it names except to
connect.`,
		Example: `  $ iotjobs config list
  $ iotjobs config show --profile prod-eu
  $ IOTJOBS_PROFILE=lab iotjobs config show -t other-thing
  $ iotjobs config show -o json | jq -r .settings.endpoint.value`,
		Args: cmdutil.NoArgs,
	}
	cmd.AddCommand(newConfigListCmd(ios), newConfigShowCmd(ios))
	return cmd
}

func newConfigListCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &configListOptions{conn: cmdutil.ConnOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the profiles of the profiles file",
		Long: `List the profiles of the profiles file with their thing and endpoint, the
default one, and the one a device command would use now (--profile,
IOTJOBS_PROFILE or default_profile). See iotjobs config --help for the file.`,
		Example: `  $ iotjobs config list
  $ iotjobs config list -o json | jq -r '.profiles[].name'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runConfigList(opts)
		},
	}
	opts.addFlags(cmd)
	addCommonFlags(cmd, ios, &opts.verbose)
	return cmd
}

func newConfigShowCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &configShowOptions{conn: cmdutil.ConnOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the connection settings a device command would use",
		Long: `Show the connection settings a device command given the same flags would
use, each with where it came from: flag, env (the variable), profile (file
and line) or default. Certificate, key and CA are shown as paths; their
contents are never read. Nothing is checked and nothing is sent.`,
		Example: `  $ iotjobs config show
  $ iotjobs config show --profile prod-eu -t other-thing
  $ iotjobs config show -o json | jq -r '.settings.thing.source'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runConfigShow(opts)
		},
	}
	opts.conn.AddSettingFlags(cmd)
	addCommonFlags(cmd, ios, &opts.verbose)
	return cmd
}

// addCommonFlags binds --no-color and -v/--verbose, which on config
// commands says on stderr what each value in use overrides.
func addCommonFlags(cmd *cobra.Command, ios *iostreams.IOStreams, verbose *bool) {
	cmdutil.AddNoColorFlag(cmd, ios)
	cmd.Flags().BoolVarP(verbose, "verbose", "v", false, "say on stderr which values from a variable or the profile the ones in use override")
}

// addFlags binds what config list needs of the connection flags: which
// profile is selected, and the output format.
func (o *configListOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.conn.Profile, "profile", "", "mark profile `NAME` as selected (env "+cmdutil.EnvProfile+")")
	f.StringVarP(&o.conn.Output, "output", "o", "", "`FORMAT`: pretty (a table) or json (env "+cmdutil.EnvOutput+"; default: pretty on a terminal, json otherwise)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(render.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("profile", cmdutil.CompleteProfileNames)
}

func (o *configListOptions) complete(cmd *cobra.Command) error {
	cmdutil.FromEnv(cmd, "output", cmdutil.EnvOutput, &o.conn.Output)
	if err := o.conn.SelectProfile(cmd); err != nil {
		return err
	}
	return o.conn.ResolveOutput()
}

// complete resolves the settings the way a device command does, without
// checking them: config show is where one looks when they are wrong.
func (o *configShowOptions) complete(cmd *cobra.Command) error {
	if err := o.conn.Resolve(cmd); err != nil {
		return err
	}
	o.values = map[string]string{}
	for _, s := range cmdutil.Settings() {
		o.values[s.Flag] = cmd.Flags().Lookup(s.Flag).Value.String()
	}
	if o.values["client-id"] == "" {
		o.values["client-id"] = o.conn.Thing // what a device command defaults it to
	}
	return o.conn.ResolveOutput()
}

// profileFileJSON describes the profiles file in config output.
type profileFileJSON struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
}

// selectionJSON says which profile is in use and what chose it.
type selectionJSON struct {
	Name string `json:"name"`
	By   string `json:"by"`
}

func fileJSON(o *cmdutil.ConnOptions) profileFileJSON {
	f := o.ProfilesFile()
	if f == nil {
		return profileFileJSON{}
	}
	return profileFileJSON{Path: f.Path, Exists: f.Exists}
}

func selection(o *cmdutil.ConnOptions) *selectionJSON {
	name, by := o.SelectedProfile()
	if name == "" {
		return nil
	}
	return &selectionJSON{Name: name, By: by}
}

type profileListJSON struct {
	File     profileFileJSON    `json:"file"`
	Default  string             `json:"default,omitempty"`
	Selected *selectionJSON     `json:"selected,omitempty"`
	Profiles []profileEntryJSON `json:"profiles"`
}

type profileEntryJSON struct {
	Name     string `json:"name"`
	Thing    string `json:"thing,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	Default  bool   `json:"default"`
	Selected bool   `json:"selected"`
}

func runConfigList(opts *configListOptions) error {
	list := profileListJSON{File: fileJSON(&opts.conn), Selected: selection(&opts.conn), Profiles: []profileEntryJSON{}}
	selected, _ := opts.conn.SelectedProfile()
	if f := opts.conn.ProfilesFile(); f != nil {
		list.Default = f.DefaultProfile
		for _, name := range f.Names() {
			p := f.Profiles[name]
			list.Profiles = append(list.Profiles, profileEntryJSON{
				Name: name, Thing: p.Thing, Endpoint: p.Endpoint,
				Default: name == f.DefaultProfile, Selected: name == selected,
			})
		}
	}
	if opts.verbose {
		traceSelection(&opts.conn)
	}
	if opts.conn.Format() == render.JSON {
		return cmdutil.WriteJSONLine(opts.conn.IO.Out, list)
	}
	w := tabwriter.NewWriter(opts.conn.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "file: %s%s\n\n", list.File.Path, missingNote(list.File))
	if len(list.Profiles) == 0 {
		fmt.Fprintln(w, "no profiles; see iotjobs config --help for the format")
		return w.Flush()
	}
	fmt.Fprintln(w, "\tNAME\tTHING\tENDPOINT\t")
	for _, p := range list.Profiles {
		var marks []string
		if p.Default {
			marks = append(marks, "default")
		}
		mark := " "
		if p.Selected {
			mark = "*"
			marks = append(marks, "selected by "+list.Selected.By)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mark, p.Name, cmdutil.Cell(p.Thing), cmdutil.Cell(p.Endpoint), strings.Join(marks, ", "))
	}
	return w.Flush()
}

func missingNote(f profileFileJSON) string {
	if f.Path != "" && !f.Exists {
		return " (does not exist)"
	}
	return ""
}

type settingJSON struct {
	Value string `json:"value"`
	cmdutil.Origin
}

type configShowJSON struct {
	File     profileFileJSON        `json:"file"`
	Profile  *selectionJSON         `json:"profile,omitempty"`
	Settings map[string]settingJSON `json:"settings"`
}

// traceSelection says on stderr what chose the profile in use and which
// lower-ranked choices (IOTJOBS_PROFILE, default_profile) it overrides.
func traceSelection(o *cmdutil.ConnOptions) {
	name, by := o.SelectedProfile()
	if name == "" {
		fmt.Fprintln(o.IO.ErrOut, "profile: none in use")
	} else {
		fmt.Fprintf(o.IO.ErrOut, "profile: %s, by %s\n", name, by)
	}
	if env := os.Getenv(cmdutil.EnvProfile); by == "--profile" && env != "" && env != name {
		fmt.Fprintf(o.IO.ErrOut, "  overrides %s=%s\n", cmdutil.EnvProfile, env)
	}
	if f := o.ProfilesFile(); f != nil && f.DefaultProfile != "" && f.DefaultProfile != name && !strings.HasPrefix(by, "default_profile") {
		fmt.Fprintf(o.IO.ErrOut, "  overrides default_profile %s (%s)\n", f.DefaultProfile, f.Where("default_profile"))
	}
}

// traceOverrides says on stderr, for each setting, the values of lower
// layers that the one in use overrides: the way to see why a variable or
// a profile key "does nothing".
func traceOverrides(o *cmdutil.ConnOptions) {
	traceSelection(o)
	profileName, _ := o.SelectedProfile()
	overridden := false
	for _, s := range cmdutil.Settings() {
		layer := o.Origin(s.Flag).Layer
		by := "the flag --" + s.Flag
		if layer == "env" {
			by = s.Env
		}
		if env := os.Getenv(s.Env); layer == "flag" && env != "" {
			fmt.Fprintf(o.IO.ErrOut, "%s: %s=%s is overridden by %s\n", s.Flag, s.Env, env, by)
			overridden = true
		}
		if v := o.ProfileValues().Get(s.Key); (layer == "flag" || layer == "env") && v != "" {
			fmt.Fprintf(o.IO.ErrOut, "%s: %s = %q of profile %s (%s) is overridden by %s\n", s.Flag, s.Key, v, profileName,
				o.ProfilesFile().Where("profiles", profileName, s.Key), by)
			overridden = true
		}
	}
	if !overridden {
		fmt.Fprintln(o.IO.ErrOut, "no setting overrides another")
	}
}

func runConfigShow(opts *configShowOptions) error {
	o := &opts.conn
	if opts.verbose {
		traceOverrides(o)
	}
	show := configShowJSON{File: fileJSON(o), Profile: selection(o), Settings: map[string]settingJSON{}}
	for _, s := range cmdutil.Settings() {
		show.Settings[s.Flag] = settingJSON{Value: opts.values[s.Flag], Origin: o.Origin(s.Flag)}
	}
	if o.Format() == render.JSON {
		return cmdutil.WriteJSONLine(o.IO.Out, show)
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "file:\t%s%s\n", cmdutil.Cell(show.File.Path), missingNote(show.File))
	if p := show.Profile; p != nil {
		fmt.Fprintf(w, "profile:\t%s (by %s)\n", p.Name, p.By)
	} else {
		fmt.Fprintln(w, "profile:\tnone")
	}
	fmt.Fprintln(w, "\nSETTING\tVALUE\tSOURCE\tWHERE")
	for _, s := range cmdutil.Settings() {
		v := show.Settings[s.Flag]
		if v.Value == "" {
			v.Value = unsetNote(s.Flag)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.Flag, v.Value, v.Layer, v.Where)
	}
	return w.Flush()
}

// unsetNote is what config show's table prints for a setting without a
// value, whose default depends on something else.
func unsetNote(flag string) string {
	switch flag {
	case "thing":
		return "(not set; required)"
	case "client-id":
		return "(the thing name)"
	case "ca":
		return "(system roots)"
	case "output":
		return "(pretty on a terminal, json otherwise)"
	}
	return "-"
}
