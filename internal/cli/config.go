package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/config"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/render"
)

// This file holds the profile layer of the connection settings and the
// config command that shows it.

// The layers a connection setting can come from, highest first.
const (
	layerFlag    = "flag"
	layerEnv     = "env"
	layerProfile = "profile"
	layerDefault = "default"
)

// origin is where a setting's value came from.
type origin struct {
	Layer string `json:"source"`
	// Where is the environment variable, or the file:line of the profile
	// key; empty for a flag and a default.
	Where string `json:"where,omitempty"`
}

// connSetting is a connection setting that a flag, an environment variable
// and a profile key can each give.
type connSetting struct{ flag, env, key string }

// connSettings are listed in the order config show prints them.
func connSettings() []connSetting {
	return []connSetting{
		{"thing", envThing, "thing"},
		{"endpoint", envEndpoint, "endpoint"},
		{"client-id", envClientID, "client_id"},
		{"cert", envCert, "cert"},
		{"key", envKey, "key"},
		{"ca", envCA, "ca"},
		{"timeout", envTimeout, "timeout"},
		{"output", envOutput, "output"},
	}
}

// resolve fills every connection setting not given as a flag from its
// environment variable, else from the profile, else leaves the flag's
// default, and records each origin. Values from the environment and the
// profile go through the flag's own parser, so --timeout is read the same
// way from every layer. An empty variable counts as unset.
func (o *connOptions) resolve(cmd *cobra.Command) error {
	if err := o.selectProfile(cmd); err != nil {
		return err
	}
	o.origins = map[string]origin{}
	for _, s := range connSettings() {
		fl := cmd.Flags().Lookup(s.flag)
		var value string
		var from origin
		switch {
		case fl.Changed:
			o.origins[s.flag] = origin{Layer: layerFlag}
			continue
		case os.Getenv(s.env) != "":
			value, from = os.Getenv(s.env), origin{Layer: layerEnv, Where: s.env}
		case o.profile.Get(s.key) != "":
			value, from = o.profile.Get(s.key), origin{Layer: layerProfile, Where: o.file.Where("profiles", o.profileName, s.key)}
		default:
			o.origins[s.flag] = origin{Layer: layerDefault}
			continue
		}
		if err := fl.Value.Set(value); err != nil {
			return Usagef("invalid %s %q (from %s): %v", s.flag, value, from.describe(o.profileName), err)
		}
		o.origins[s.flag] = from
	}
	return nil
}

// selectProfile loads the profiles file and picks the profile: --profile,
// else IOTJOBS_PROFILE, else the file's default_profile, else none. A
// missing file is fine unless a profile was named; an empty --profile
// turns profiles off. A file that is there but broken is an error even when no
// profile is named, since it may name a default.
func (o *connOptions) selectProfile(cmd *cobra.Command) error {
	name, from := o.Profile, "--profile"
	named := cmd.Flags().Changed("profile")
	if !named {
		if v := os.Getenv(envProfile); v != "" {
			name, from, named = v, envProfile, true
		}
	}
	file, err := loadProfiles()
	switch {
	case err != nil && (named || !errors.Is(err, errNoConfigDir)):
		return &UsageError{Err: err}
	case err != nil:
		return nil
	}
	o.file = file
	if !named && file.DefaultProfile != "" {
		name, from = file.DefaultProfile, "default_profile in "+file.Where("default_profile")
	}
	if name == "" {
		return nil
	}
	if o.profile, err = file.Profile(name); err != nil {
		return Usagef("%v (profile named by %s)", err, from)
	}
	o.profileName, o.profileFrom = name, from
	return nil
}

// errNoConfigDir is loadProfiles' error when there is nowhere to look.
var errNoConfigDir = errors.New("no config directory")

// loadProfiles reads the user's profiles file.
func loadProfiles() (*config.File, error) {
	path, err := config.Path()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoConfigDir, err)
	}
	return config.Load(path)
}

// describe names an origin for an error message.
func (from origin) describe(profile string) string {
	if from.Layer == layerProfile {
		return fmt.Sprintf("profile %q at %s", profile, from.Where)
	}
	return from.Where
}

// blame adds to err where the bad value of setting came from, when it did
// not come from the command line, where the user can see it.
func (o *connOptions) blame(setting string, err error) error {
	from := o.origins[setting]
	if from.Layer != layerEnv && from.Layer != layerProfile {
		return &UsageError{Err: err}
	}
	return &UsageError{Err: fmt.Errorf("%w (from %s)", err, from.describe(o.profileName))}
}

type configListOptions struct {
	conn connOptions
}

type configShowOptions struct {
	conn connOptions

	// values are the resolved settings by flag name.
	values map[string]string
}

func newConfigCmd(ios *iostreams.IOStreams) *cobra.Command {
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

  [profiles.prod-eu]
  endpoint = "a1b2c3-ats.iot.eu-west-1.amazonaws.com"
  thing = "my-thing"
  client_id = "my-thing-operator"
  cert = "~/certs/my-thing.cert.pem"  # ~ and paths relative to this file
  key = "~/certs/my-thing.private.key"
  ca = "AmazonRootCA1.pem"
  output = "json"
  timeout = "30s"

A device command uses the profile named by --profile, else by
IOTJOBS_PROFILE, else default_profile. Each setting comes from its flag,
else its environment variable, else the profile, else the default.
--profile '' uses no profile. The file is edited by hand; iotjobs never
writes it, and never reads the certificate and key files it names except to
connect.`,
		Example: `  $ iotjobs config list
  $ iotjobs config show --profile prod-eu
  $ IOTJOBS_PROFILE=lab iotjobs config show -t other-thing
  $ iotjobs config show -o json | jq -r .settings.endpoint.value`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newConfigListCmd(ios), newConfigShowCmd(ios))
	return cmd
}

func newConfigListCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &configListOptions{conn: connOptions{IO: ios}}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the profiles of the profiles file",
		Long: `List the profiles of the profiles file with their thing and endpoint, the
default one, and the one a device command would use now (--profile,
IOTJOBS_PROFILE or default_profile). See iotjobs config --help for the file.`,
		Example: `  $ iotjobs config list
  $ iotjobs config list -o json | jq -r '.profiles[].name'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runConfigList(opts)
		},
	}
	opts.addFlags(cmd)
	return cmd
}

func newConfigShowCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &configShowOptions{conn: connOptions{IO: ios}}
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
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runConfigShow(opts)
		},
	}
	opts.conn.addSettingFlags(cmd)
	return cmd
}

// addFlags binds what config list needs of the connection flags: which
// profile is selected, and the output format.
func (o *configListOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.conn.Profile, "profile", "", "mark profile `NAME` as selected (env "+envProfile+")")
	f.StringVarP(&o.conn.Output, "output", "o", "", "`FORMAT`: pretty (a table) or json (env "+envOutput+"; default: pretty on a terminal, json otherwise)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(render.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("profile", completeProfileNames)
}

func (o *configListOptions) complete(cmd *cobra.Command) error {
	fromEnv(cmd, "output", envOutput, &o.conn.Output)
	if err := o.conn.selectProfile(cmd); err != nil {
		return err
	}
	return o.conn.tableOrJSON()
}

// complete resolves the settings the way a device command does, without
// checking them: config show is where one looks when they are wrong.
func (o *configShowOptions) complete(cmd *cobra.Command) error {
	if err := o.conn.resolve(cmd); err != nil {
		return err
	}
	o.values = map[string]string{}
	for _, s := range connSettings() {
		o.values[s.flag] = cmd.Flags().Lookup(s.flag).Value.String()
	}
	if o.values["client-id"] == "" {
		o.values["client-id"] = o.conn.Thing // what a device command defaults it to
	}
	return o.conn.tableOrJSON()
}

// tableOrJSON decides the config commands' format from the output setting:
// pretty is a table.
func (o *connOptions) tableOrJSON() (err error) {
	if o.Output == "" {
		o.format = render.DefaultFormat(o.IO)
	} else if o.format, err = render.ParseFormat(o.Output); err != nil {
		return o.blame("output", err)
	}
	return nil
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

func (o *connOptions) fileJSON() profileFileJSON {
	if o.file == nil {
		return profileFileJSON{}
	}
	return profileFileJSON{Path: o.file.Path, Exists: o.file.Exists}
}

func (o *connOptions) selection() *selectionJSON {
	if o.profileName == "" {
		return nil
	}
	return &selectionJSON{Name: o.profileName, By: o.profileFrom}
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
	list := profileListJSON{File: opts.conn.fileJSON(), Selected: opts.conn.selection(), Profiles: []profileEntryJSON{}}
	if f := opts.conn.file; f != nil {
		list.Default = f.DefaultProfile
		for _, name := range f.Names() {
			p := f.Profiles[name]
			list.Profiles = append(list.Profiles, profileEntryJSON{
				Name: name, Thing: p.Thing, Endpoint: p.Endpoint,
				Default: name == f.DefaultProfile, Selected: name == opts.conn.profileName,
			})
		}
	}
	if opts.conn.format == render.JSON {
		return writeJSONLine(opts.conn.IO.Out, list)
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
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", mark, p.Name, cell(p.Thing), cell(p.Endpoint), strings.Join(marks, ", "))
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
	origin
}

type configShowJSON struct {
	File     profileFileJSON        `json:"file"`
	Profile  *selectionJSON         `json:"profile,omitempty"`
	Settings map[string]settingJSON `json:"settings"`
}

func runConfigShow(opts *configShowOptions) error {
	o := &opts.conn
	show := configShowJSON{File: o.fileJSON(), Profile: o.selection(), Settings: map[string]settingJSON{}}
	for _, s := range connSettings() {
		show.Settings[s.flag] = settingJSON{Value: opts.values[s.flag], origin: o.origins[s.flag]}
	}
	if o.format == render.JSON {
		return writeJSONLine(o.IO.Out, show)
	}
	w := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "file:\t%s%s\n", cell(show.File.Path), missingNote(show.File))
	if p := show.Profile; p != nil {
		fmt.Fprintf(w, "profile:\t%s (by %s)\n", p.Name, p.By)
	} else {
		fmt.Fprintln(w, "profile:\tnone")
	}
	fmt.Fprintln(w, "\nSETTING\tVALUE\tSOURCE\tWHERE")
	for _, s := range connSettings() {
		v := show.Settings[s.flag]
		if v.Value == "" {
			v.Value = unsetNote(s.flag)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", s.flag, v.Value, v.Layer, v.Where)
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

func writeJSONLine(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}
