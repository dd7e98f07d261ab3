package cmdutil

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/config"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/render"
)

// Environment variables of the connection flags (cli.md).
const (
	EnvThing    = "IOTJOBS_THING"
	EnvEndpoint = "IOTJOBS_ENDPOINT"
	EnvClientID = "IOTJOBS_CLIENT_ID"
	EnvCert     = "IOTJOBS_CERT"
	EnvKey      = "IOTJOBS_KEY"
	EnvCA       = "IOTJOBS_CA"
	EnvTimeout  = "IOTJOBS_TIMEOUT"
	EnvOutput   = "IOTJOBS_OUTPUT"
	EnvProfile  = "IOTJOBS_PROFILE"

	defaultEndpoint = "mqtt://127.0.0.1:1883"
	DefaultTimeout  = 10 * time.Second
	// maxClientIDLen is AWS IoT's limit, in bytes.
	maxClientIDLen = 128
)

// ConnOptions are the flags every device command shares, and what they
// resolve to once checked. Bind them with AddConnFlags, check them with
// Complete in RunE before anything connects.
type ConnOptions struct {
	IO *iostreams.IOStreams

	Thing       string
	Endpoint    string
	ClientID    string
	Cert        string
	Key         string
	CA          string
	Timeout     time.Duration
	Output      string
	Verbose     bool
	ClientToken string
	Profile     string
	Retries     int
	// FanOut: the command takes many things (-t a,b or -t a -t b); set it
	// before binding the flags. Things has them once Complete succeeded.
	FanOut bool
	Things []string

	// origins says, by flag name, where each connection setting (and
	// --profile, when given) came from, for error messages, config show and
	// the flags a hint carries (Suggest).
	origins map[string]Origin
	// file and profile are the profiles file and the profile in use (zero
	// when none is); profileFrom says what chose it.
	file        *config.File
	profile     config.Profile
	profileName string
	profileFrom string

	endpoint mqttclient.Endpoint
	tls      *tls.Config
	format   render.Format
}

// AddConnFlags binds the connection flags and --client-token to cmd.
func (o *ConnOptions) AddConnFlags(cmd *cobra.Command) {
	o.AddSettingFlags(cmd)
	f := cmd.Flags()
	AddNoColorFlag(cmd, o.IO)
	f.BoolVarP(&o.Verbose, "verbose", "v", false, "trace connect, subscribe, publish and received messages on stderr")
	f.StringVar(&o.ClientToken, "client-token", "", "clientToken `TOKEN` of the request; the reply must carry it (default: a fresh random token)")
	markConnectionFlags(cmd, "thing", "endpoint", "client-id", "cert", "key", "ca", "timeout", "output", "profile", "no-color", "verbose")
}

// AddSettingFlags binds the flags of the settings that a profile can also
// give (and --profile), which config show resolves without connecting.
func (o *ConnOptions) AddSettingFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	thingUsage := "`NAME` of the thing to impersonate (env " + EnvThing + "; required)"
	if o.FanOut {
		thingUsage = "`NAME` of the thing to impersonate; repeat it or separate names with commas to ask many things at once (env " + EnvThing + ")"
	}
	f.VarP(&thingList{dst: &o.Thing}, "thing", "t", thingUsage)
	f.StringVarP(&o.Endpoint, "endpoint", "e", defaultEndpoint, "`URL`: mqtt://host:port for plain MQTT; mqtts://host[:port] or host[:port] for TLS (env "+EnvEndpoint+")")
	f.StringVar(&o.ClientID, "client-id", "", "MQTT client `ID` (env "+EnvClientID+"; default: the thing name)")
	f.StringVar(&o.Cert, "cert", "", "client certificate `FILE`, PEM (env "+EnvCert+")")
	f.StringVar(&o.Key, "key", "", "private key `FILE` of the client certificate, PEM (env "+EnvKey+")")
	f.StringVar(&o.CA, "ca", "", "`FILE` of the CA certificate(s) that signed the server's, PEM (env "+EnvCA+"; default: system roots)")
	f.DurationVar(&o.Timeout, "timeout", DefaultTimeout, "bound on connect + the whole exchange, a `DURATION` (env "+EnvTimeout+")")
	f.StringVarP(&o.Output, "output", "o", "", "`FORMAT`: pretty or json (env "+EnvOutput+"; default: pretty on a terminal, json otherwise)")
	f.StringVar(&o.Profile, "profile", "", "`NAME` of a profile in the profiles file, for the settings not given otherwise (env "+EnvProfile+")")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(render.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("thing", CompleteProfileThings)
	_ = cmd.RegisterFlagCompletionFunc("profile", CompleteProfileNames)
	_ = cmd.MarkFlagFilename("cert", "pem", "crt")
	_ = cmd.MarkFlagFilename("key", "pem", "key")
	_ = cmd.MarkFlagFilename("ca", "pem", "crt")
}

// thingList is the -t/--thing flag: repeated, its values join with commas.
// Its value is Thing, which the environment and a profile can give too.
type thingList struct {
	dst *string
	set bool
}

func (l *thingList) String() string {
	if l.dst == nil {
		return ""
	}
	return *l.dst
}

func (l *thingList) Set(v string) error {
	if l.set && *l.dst != "" {
		*l.dst += "," + v
	} else {
		*l.dst = v
	}
	l.set = true
	return nil
}

func (l *thingList) Type() string { return "string" }

// AddRetriesFlag binds --retries, for the one-shot requests.
func (o *ConnOptions) AddRetriesFlag(cmd *cobra.Command, safeWhen string) {
	usage := "send the request again up to `N` times (with backoff) if the service throttles it or fails, or the connection drops before the reply"
	if safeWhen != "" {
		usage += "; " + safeWhen
	}
	cmd.Flags().IntVar(&o.Retries, "retries", DefaultRetries, usage)
}

// DefaultRetries is --retries' default: enough to ride out a takeover or a
// moment of throttling, not to hide an outage.
const DefaultRetries = 2

// FromEnv fills a flag the user did not give from its environment variable.
func FromEnv(cmd *cobra.Command, flag, env string, dst *string) {
	if cmd.Flags().Changed(flag) {
		return
	}
	if v, ok := os.LookupEnv(env); ok && v != "" {
		*dst = v
	}
}

// Complete resolves the settings (Resolve), checks every one and loads the
// TLS files, so that nothing bad reaches the network. Errors are
// UsageErrors (exit 2) that say where a bad value came from.
func (o *ConnOptions) Complete(cmd *cobra.Command) error {
	if err := o.Resolve(cmd); err != nil {
		return err
	}
	o.Things = nil
	for _, name := range strings.Split(o.Thing, ",") {
		if name = strings.TrimSpace(name); name != "" && !slices.Contains(o.Things, name) {
			o.Things = append(o.Things, name)
		}
	}
	if len(o.Things) == 0 && !o.FanOut {
		return Usagef("no thing given: pass -t/--thing NAME, set %s, or set thing in a profile (iotjobs config --help)", EnvThing)
	}
	for _, name := range o.Things {
		if err := jobs.ValidateThingName(name); err != nil {
			return o.blame("thing", err)
		}
	}
	if len(o.Things) > 1 && !o.FanOut {
		return o.blame("thing", fmt.Errorf("%s acts on one thing, and %d are given (%s)", cmd.Name(), len(o.Things), o.Thing))
	}
	if len(o.Things) > 0 {
		o.Thing = o.Things[0]
	}
	ep, err := mqttclient.ParseEndpoint(o.Endpoint)
	if err != nil {
		return o.blame("endpoint", err)
	}
	o.endpoint = ep
	if o.ClientID == "" {
		o.ClientID = o.Thing
		if len(o.Things) != 1 {
			// Asking many things: no one thing's id, and none a device uses.
			o.ClientID = "iotjobs-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
		}
	}
	if err := checkClientID(o.ClientID); err != nil {
		return o.blame("client-id", err)
	}
	if o.Timeout <= 0 {
		return o.blame("timeout", fmt.Errorf("invalid --timeout %s: must be a positive duration such as 10s", o.Timeout))
	}
	if o.Retries < 0 {
		return Usagef("invalid --retries %d: must be 0 or more", o.Retries)
	}
	if err := o.ResolveOutput(); err != nil {
		return err
	}
	if err := o.loadTLS(); err != nil {
		return err
	}
	if !cmd.Flags().Changed("client-token") {
		o.ClientToken = uuid.NewString() // crypto/rand underneath
	} else if err := checkClientToken(o.ClientToken); err != nil {
		return err
	}
	return nil
}

func (o *ConnOptions) loadTLS() error {
	o.dropProfileTLS()
	files := mqttclient.TLSFiles{Cert: o.Cert, Key: o.Key, CA: o.CA}
	switch {
	case o.Cert != "" && o.Key == "":
		return Usagef("--cert needs --key: give the private key of the client certificate too")
	case o.Key != "" && o.Cert == "":
		return Usagef("--key needs --cert: give the client certificate too")
	case !o.endpoint.TLS && !files.Empty():
		return Usagef("--cert, --key and --ca need a TLS endpoint, but %s is plain MQTT: use mqtts://%s or drop them", o.endpoint, o.endpoint.Address())
	case !o.endpoint.TLS:
		return nil
	}
	cfg, err := mqttclient.LoadTLSConfig(o.endpoint, files)
	if err != nil {
		return &UsageError{Err: err}
	}
	o.tls = cfg
	return nil
}

// dropProfileTLS: an endpoint given as a flag or in the environment
// decides over the profile; when it is plain MQTT, the profile's TLS files
// do not apply to it, and are dropped with a note rather than refused.
func (o *ConnOptions) dropProfileTLS() {
	if o.endpoint.TLS || o.origins["endpoint"].Layer == layerProfile || o.origins["endpoint"].Default() {
		return
	}
	var dropped []string
	for _, f := range []struct {
		flag string
		dst  *string
	}{{"cert", &o.Cert}, {"key", &o.Key}, {"ca", &o.CA}} {
		if *f.dst != "" && o.origins[f.flag].Layer == layerProfile {
			dropped = append(dropped, f.flag)
			*f.dst = ""
		}
	}
	if len(dropped) > 0 {
		list := strings.Join(dropped, ", ")
		if n := len(dropped); n > 1 {
			list = strings.Join(dropped[:n-1], ", ") + " and " + dropped[n-1]
		}
		fmt.Fprintf(o.IO.ErrOut, "note: %s is plain MQTT: the %s of profile %q are not used\n", o.endpoint, list, o.profileName)
	}
}

func checkClientID(id string) error {
	switch {
	case len(id) > maxClientIDLen:
		return Usagef("invalid client id %q: it is %d bytes long, the limit is %d", id, len(id), maxClientIDLen)
	case strings.HasPrefix(id, "$"):
		return Usagef("invalid client id %q: client ids starting with '$' are reserved", id)
	case !utf8.ValidString(id) || strings.IndexFunc(id, unicode.IsControl) >= 0:
		return Usagef("invalid client id %q: it must be UTF-8 text without control characters", id)
	}
	return nil
}

func checkClientToken(token string) error {
	if token == "" {
		return Usagef("invalid --client-token: must not be empty (leave the flag out for a random token)")
	}
	if !utf8.ValidString(token) || strings.IndexFunc(token, unicode.IsControl) >= 0 {
		return Usagef("invalid --client-token %q: it must be UTF-8 text without control characters", token)
	}
	var tooLong *jobs.ValidationError
	if errors.As(jobs.ValidateClientToken(token), &tooLong) {
		return Usagef("invalid --client-token: %s", tooLong.Reason)
	}
	return nil
}

// WarnImpersonation tells the user, once, that connecting as the thing's
// own client id pushes the real device off the broker: AWS IoT keeps one
// connection per client id and drops the older one.
func (o *ConnOptions) WarnImpersonation() {
	if !o.TakesOverDevice() {
		return
	}
	fmt.Fprintf(o.IO.ErrOut, "warning: connecting as client id %q, the thing's own name: a device connected with this client id "+
		"will be disconnected while this command runs. To leave it alone, choose another client id with --client-id "+
		"(or %s), if the policy allows it.\n", o.ClientID, EnvClientID)
}

// TakesOverDevice reports whether connecting would disconnect the real
// device: the thing's own client id, on a broker that is not local.
func (o *ConnOptions) TakesOverDevice() bool {
	return o.ClientID == o.Thing && !o.endpoint.IsLoopback()
}

// ParsedEndpoint is the endpoint Complete parsed.
func (o *ConnOptions) ParsedEndpoint() mqttclient.Endpoint { return o.endpoint }

// ClientConfig is the mqttclient configuration of a connection.
func (o *ConnOptions) ClientConfig() mqttclient.Config {
	cfg := mqttclient.Config{Endpoint: o.endpoint, ClientID: o.ClientID, TLS: o.tls}
	if o.Verbose {
		errOut := o.IO.ErrOut
		cfg.Trace = func(format string, args ...any) { fmt.Fprintf(errOut, format+"\n", args...) }
	}
	return cfg
}
