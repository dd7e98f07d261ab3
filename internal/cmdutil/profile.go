package cmdutil

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/config"
	"github.com/iotjobs/iotjobs/internal/render"
)

// This file holds the profile layer of the connection settings: where each
// setting comes from (flag, environment, profile, default).

// The layers a connection setting can come from, highest first.
const (
	layerFlag    = "flag"
	layerEnv     = "env"
	layerProfile = "profile"
	layerDefault = "default"
)

// Origin is where a setting's value came from; config show prints it.
type Origin struct {
	Layer string `json:"source"`
	// Where is the environment variable, or the file:line of the profile
	// key; empty for a flag and a default.
	Where string `json:"where,omitempty"`
}

// Setting is a connection setting that a flag (Flag), an environment
// variable (Env) and a profile key (Key) can each give.
type Setting struct{ Flag, Env, Key string }

// Settings are the connection settings, in the order config show prints
// them.
func Settings() []Setting {
	return []Setting{
		{"thing", EnvThing, "thing"},
		{"endpoint", EnvEndpoint, "endpoint"},
		{"client-id", EnvClientID, "client_id"},
		{"cert", EnvCert, "cert"},
		{"key", EnvKey, "key"},
		{"ca", EnvCA, "ca"},
		{"timeout", EnvTimeout, "timeout"},
		{"output", EnvOutput, "output"},
	}
}

// Resolve fills every connection setting not given as a flag from its
// environment variable, else from the profile, else leaves the flag's
// default, and records each Origin. Values from the environment and the
// profile go through the flag's own parser, so --timeout is read the same
// way from every layer. An empty variable counts as unset.
func (o *ConnOptions) Resolve(cmd *cobra.Command) error {
	if err := o.SelectProfile(cmd); err != nil {
		return err
	}
	o.origins = map[string]Origin{}
	if cmd.Flags().Changed("profile") {
		o.origins["profile"] = Origin{Layer: layerFlag}
	}
	for _, s := range Settings() {
		fl := cmd.Flags().Lookup(s.Flag)
		var value string
		var from Origin
		switch {
		case fl.Changed:
			o.origins[s.Flag] = Origin{Layer: layerFlag}
			continue
		case os.Getenv(s.Env) != "":
			value, from = os.Getenv(s.Env), Origin{Layer: layerEnv, Where: s.Env}
		case o.profile.Get(s.Key) != "":
			value, from = o.profile.Get(s.Key), Origin{Layer: layerProfile, Where: o.file.Where("profiles", o.profileName, s.Key)}
		default:
			o.origins[s.Flag] = Origin{Layer: layerDefault}
			continue
		}
		if err := fl.Value.Set(value); err != nil {
			return Usagef("invalid %s %q (from %s): %v", s.Flag, value, from.describe(o.profileName), err)
		}
		o.origins[s.Flag] = from
	}
	return nil
}

// SelectProfile loads the profiles file and picks the profile: --profile,
// else IOTJOBS_PROFILE, else the file's default_profile, else none. A
// missing file is fine unless a profile was named; an empty --profile
// turns profiles off. A file that is there but broken is an error even when no
// profile is named, since it may name a default.
func (o *ConnOptions) SelectProfile(cmd *cobra.Command) error {
	name, from := o.Profile, "--profile"
	named := cmd.Flags().Changed("profile")
	if !named {
		if v := os.Getenv(EnvProfile); v != "" {
			name, from, named = v, EnvProfile, true
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
	for _, w := range file.Warnings(name) {
		fmt.Fprintf(o.IO.ErrOut, "warning: %v (ignored: not in the profile in use)\n", w)
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

// Default says the setting was given nowhere: it has its flag's default.
func (from Origin) Default() bool { return from.Layer == layerDefault }

// describe names an Origin for an error message.
func (from Origin) describe(profile string) string {
	if from.Layer == layerProfile {
		return fmt.Sprintf("profile %q at %s", profile, from.Where)
	}
	return from.Where
}

// blame adds to err where the bad value of setting came from, when it did
// not come from the command line, where the user can see it.
func (o *ConnOptions) blame(setting string, err error) error {
	from := o.origins[setting]
	if from.Layer != layerEnv && from.Layer != layerProfile {
		return &UsageError{Err: err}
	}
	return &UsageError{Err: fmt.Errorf("%w (from %s)", err, from.describe(o.profileName))}
}

// ResolveOutput decides the output format from the output setting (empty:
// pretty on a terminal, json otherwise).
func (o *ConnOptions) ResolveOutput() (err error) {
	if o.Output == "" {
		o.format = render.DefaultFormat(o.IO)
	} else if o.format, err = render.ParseFormat(o.Output); err != nil {
		return o.blame("output", err)
	}
	return nil
}

// Format is the output format ResolveOutput decided.
func (o *ConnOptions) Format() render.Format { return o.format }

// Origin says where the setting of flag came from; Resolve records it.
func (o *ConnOptions) Origin(flag string) Origin { return o.origins[flag] }

// ProfilesFile is the profiles file SelectProfile read, nil when there is
// none to read.
func (o *ConnOptions) ProfilesFile() *config.File { return o.file }

// ProfileValues are the values of the profile in use, zero when none is.
func (o *ConnOptions) ProfileValues() config.Profile { return o.profile }

// SelectedProfile is the profile in use and what chose it (--profile, the
// variable or default_profile); name is "" when none is.
func (o *ConnOptions) SelectedProfile() (name, by string) { return o.profileName, o.profileFrom }
