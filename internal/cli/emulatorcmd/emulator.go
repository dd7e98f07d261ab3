package emulatorcmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/config"
	"github.com/iotjobs/iotjobs/internal/emulator"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/emulator/throttle"
	"github.com/iotjobs/iotjobs/internal/iostreams"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/render"
)

// defaultMQTTAddr is the embedded broker's plain listener unless --mqtt
// says otherwise: the devices' default endpoint, mqtt://127.0.0.1:1883.
const defaultMQTTAddr = "127.0.0.1:1883"

type emulatorOptions struct {
	IO  *iostreams.IOStreams
	cfg emulator.Config
	// defaultStore: the store is the default one, whose directory the
	// emulator creates; a directory given with --data must exist.
	defaultStore bool
	// verbose logs each device request and reply (debug level).
	verbose bool
	// throttle is --throttle, parsed into cfg.Throttle.
	throttle string
	// output is -o: json prints the addresses as one JSON object and logs
	// JSON lines.
	output string
	format render.Format
}

// NewEmulatorCmd is `iotjobs emulator`, which serves; the control-plane
// verbs are its subcommands, so its flags are local, not persistent.
func NewEmulatorCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &emulatorOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "emulator",
		Short: "Run the embedded AWS IoT Jobs service: MQTT broker, jobs engine and control plane",
		Long: `Run an emulator of the AWS IoT Jobs service in the foreground until SIGINT or
SIGTERM, then shut down cleanly.

It embeds an MQTT broker that serves the Jobs device API the way AWS IoT does:
the reply to a request goes to the requesting client only, even when it did
not subscribe, and notify/notify-next go to their subscribers. Jobs live in a
durable store (--data) and are managed over the control plane (--http), with
the AWS IoT control-plane REST routes and JSON shapes.

Jobs run as on AWS IoT: executions paced by a rollout rate, retried as new
execution numbers, canceled by abort thresholds, and jobs that target thing
groups, CONTINUOUS ones following them (see emulator create-job, group and
describe-job --watch; --minute makes their minutes short). With --events it
also publishes AWS IoT's Jobs events, such as
$aws/events/jobExecution/JOB_ID/succeeded and $aws/events/job/JOB_ID/completed.

With --broker there is no embedded broker: the emulator serves the Jobs topics
as a client of an existing broker such as Mosquitto. Such a broker routes the
replies like any message, so requesters must subscribe to them (iotjobs
does), and every subscriber to them sees them.

When ready it prints on stdout one line per address it serves, e.g.
  mqtt   mqtt://127.0.0.1:1883
  http   http://127.0.0.1:8084
  data   /home/me/.local/state/iotjobs/emulator.db
  minute 1m0s
and it logs on stderr. With -o json it prints them as one JSON object
instead, e.g. {"mqtt":"mqtt://127.0.0.1:1883",...,"minute":"1m0s"}, and logs
one JSON object per line. Unlike the other commands, the emulator prints
text unless -o json is given: its lines are what scripts wait for.`,
		Example: `  $ iotjobs emulator
  $ iotjobs emulator --data :memory: --minute 1s --http ""
  $ iotjobs emulator --minute 1s --events    # rehearse a rollout; see README
  $ iotjobs emulator --mqtts 127.0.0.1:8883 --tls-cert server.pem --tls-key server.key --client-ca ca.pem
  $ iotjobs emulator --broker mqtt://127.0.0.1:1883 --http 127.0.0.1:8085
  $ iotjobs emulator -o json | jq -r .mqtt
  $ iotjobs emulator --throttle aws,reads=5
  $ iotjobs emulator --mqtts 127.0.0.1:8883 --tls-cert server.pem --tls-key server.key --client-ca ca.pem --policy device-policy.json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.complete(cmd); err != nil {
				return err
			}
			return runEmulator(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.cfg.MQTTAddr, "mqtt", defaultMQTTAddr, "listen on `ADDR` for plain MQTT (\"\" for none)")
	f.StringVar(&opts.cfg.MQTTSAddr, "mqtts", "", "listen on `ADDR` for MQTT over TLS (needs --tls-cert and --tls-key)")
	f.StringVar(&opts.cfg.TLSCert, "tls-cert", "", "PEM `FILE` with the MQTTS listener's certificate")
	f.StringVar(&opts.cfg.TLSKey, "tls-key", "", "PEM `FILE` with the MQTTS listener's private key")
	f.StringVar(&opts.cfg.ClientCA, "client-ca", "", "PEM `FILE` with a CA: MQTTS clients must present a certificate it signed")
	f.StringVar(&opts.cfg.HTTPAddr, "http", "127.0.0.1:8084", "serve the control plane on `ADDR` (\"\" for none)")
	f.StringVar(&opts.cfg.DataPath, "data", "", "keep jobs in the store at `PATH` (default $XDG_STATE_HOME/iotjobs/emulator.db, or ~/.local/state/iotjobs/emulator.db); "+emulator.MemoryDataPath+" keeps nothing")
	f.StringVar(&opts.cfg.BrokerURL, "broker", "", "attach mode: serve the Jobs topics on the broker at this mqtt:// or mqtts:// `URL` instead of embedding one")
	f.DurationVar(&opts.cfg.Minute, "minute", time.Minute, "let one emulated minute (step and in-progress timers) last `DURATION` (0 means 1m)")
	f.DurationVar(&opts.cfg.ConnectTimeout, "connect-timeout", emulator.DefaultConnectTimeout, "close a connection that has not sent its MQTT CONNECT (or HTTP request headers) within `DURATION`")
	f.IntVar(&opts.cfg.MaxConnections, "max-connections", 0, "accept at most `N` MQTT connections at once; more are closed at once (0: no bound)")
	f.StringVar(&opts.throttle, "throttle", "", "apply AWS IoT's rates: aws for its defaults (Jobs reads=200 and writes=200 per second per account, answered RequestThrottled; publishes=100 per second per connection, the excess discarded; connects=1 per second per client id), or `LIMITS` such as aws,reads=10 or writes=5 (default: none)")
	f.BoolVar(&opts.cfg.Lenient, "lenient", false, "turn off AWS IoT's broker rules (reserved Jobs and event topics, RETAIN on $aws/, 128 KB payloads, 256-byte and 7-slash topics, 8 filters per SUBSCRIBE, 50 subscriptions, QoS 2, keep-alive 30..1200 s), to use the embedded broker as a general one")
	f.StringArrayVar(&opts.cfg.Policies, "policy", nil, "enforce the AWS IoT policy document in `FILE` on every connection, as AWS IoT Core does (repeatable: the policies attached to one certificate); see docs/policies.md")
	f.BoolVar(&opts.cfg.Events, "events", false, "publish AWS IoT's Jobs events ($aws/events/job/... and $aws/events/jobExecution/...): enable the JOB and JOB_EXECUTION event types as UpdateEventConfigurations does, and keep that in the store (without it the store's setting applies: off in a new one)")
	f.BoolVarP(&opts.verbose, "verbose", "v", false, "log each device request and its reply on stderr: topic, client id, outcome, latency")
	f.StringVarP(&opts.output, "output", "o", string(render.Pretty), "`FORMAT`: pretty (lines) or json (one object, and JSON log lines)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(render.FormatNames(), cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddNoColorFlag(cmd, ios)
	for _, name := range []string{"tls-cert", "tls-key", "client-ca", "data", "policy"} {
		_ = cmd.MarkFlagFilename(name)
	}
	cmd.AddCommand(newEmulatorControlCmds(ios)...)
	cmd.AddCommand(newCheckCmd(ios))
	noFileCompletion(cmd)
	return cmd
}

// complete resolves defaults and validates every flag before anything is
// started: bad flags are a usage error (exit 2).
func (o *emulatorOptions) complete(cmd *cobra.Command) error {
	var err error
	if o.format, err = render.ParseFormat(o.output); err != nil {
		return cmdutil.Usagef("invalid --output %q: use pretty or json, e.g. -o json", o.output)
	}
	if o.cfg.Throttle, err = throttle.Parse(o.throttle); err != nil {
		return cmdutil.Usagef("invalid --throttle %v", err)
	}
	// --mqtt has a default; in attach mode only an explicit one is an error
	// (left to Validate).
	if o.cfg.BrokerURL != "" && !cmd.Flags().Changed("mqtt") {
		o.cfg.MQTTAddr = ""
	}
	for _, a := range []struct{ flag, addr string }{
		{"mqtt", o.cfg.MQTTAddr}, {"mqtts", o.cfg.MQTTSAddr}, {"http", o.cfg.HTTPAddr},
	} {
		if err := checkListenAddr(a.addr); err != nil {
			return cmdutil.Usagef("invalid --%s %q: %v", a.flag, a.addr, err)
		}
	}
	if o.cfg.DataPath == "" {
		path, err := config.StorePath()
		if err != nil {
			return fmt.Errorf("no state directory for the store (%v); give one with --data PATH", err)
		}
		o.cfg.DataPath = path
		o.defaultStore = true
	} else if dir := filepath.Dir(o.cfg.DataPath); o.cfg.DataPath != emulator.MemoryDataPath {
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return cmdutil.Usagef("invalid --data %s: the directory %s does not exist; create it, or give a path in an existing one", o.cfg.DataPath, dir)
		}
	}
	if err := o.cfg.Validate(); err != nil {
		return &cmdutil.UsageError{Err: flagError(err)}
	}
	return nil
}

// flags are the flags that set each emulator.Config field.
var flags = map[string]string{
	"MQTTAddr": "--mqtt", "MQTTSAddr": "--mqtts", "TLSCert": "--tls-cert", "TLSKey": "--tls-key",
	"ClientCA": "--client-ca", "HTTPAddr": "--http", "DataPath": "--data", "BrokerURL": "--broker",
	"Minute": "--minute", "ConnectTimeout": "--connect-timeout", "MaxConnections": "--max-connections",
	"Policies": "--policy", "Lenient": "--lenient",
}

// damageHint says what to do about a damaged store, or a full disk.
func damageHint(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EFBIG) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w\n  hint: the disk (or a quota or file size limit) is full; nothing was left behind: free some space, or give --data a path on another disk", err)
	}
	var damaged *store.DamagedError
	if !errors.As(err, &damaged) {
		return err
	}
	return fmt.Errorf("%w\n  hint: see what is wrong with: iotjobs emulator check --data %s; then restore a backup of the file, or move it away to start with an empty store", err, damaged.Path)
}

// flagError names the flags in an emulator.ConfigError, which names the
// Config fields.
func flagError(err error) error {
	var ce *emulator.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	return errors.New(ce.Render(func(field string) string { return flags[field] }))
}

// checkListenAddr accepts host:port and :port with a numeric port, or ""
// for no listener.
func checkListenAddr(addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. 127.0.0.1:1883")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number between 0 and 65535", port)
	}
	return nil
}

func runEmulator(ctx context.Context, opts *emulatorOptions) error {
	cfg := opts.cfg
	level := slog.LevelInfo
	if opts.verbose {
		level = slog.LevelDebug
	}
	handlerOpts := &slog.HandlerOptions{Level: level, ReplaceAttr: logTime}
	var handler slog.Handler = slog.NewTextHandler(opts.IO.ErrOut, handlerOpts)
	if opts.format == render.JSON {
		handler = slog.NewJSONHandler(opts.IO.ErrOut, handlerOpts)
	}
	cfg.Logger = slog.New(handler)
	if opts.defaultStore {
		if err := os.MkdirAll(filepath.Dir(cfg.DataPath), 0o700); err != nil {
			return fmt.Errorf("create the directory of the store: %w", err)
		}
	}
	emu, err := emulator.Start(ctx, cfg)
	if err != nil {
		return damageHint(flagError(err))
	}
	if err := printAddresses(opts.IO, opts.format, cfg, emu); err != nil {
		emu.Close()
		return err
	}
	cfg.Logger.Info("emulator ready; SIGINT or SIGTERM stops it")

	<-ctx.Done()
	cfg.Logger.Info("shutting down")
	if err := emu.Close(); err != nil {
		return err
	}
	cfg.Logger.Info("stopped")
	return nil
}

// readyJSON is what the emulator serves, as -o json prints it.
type readyJSON struct {
	Broker   string   `json:"broker,omitempty"`
	MQTT     string   `json:"mqtt,omitempty"`
	MQTTS    string   `json:"mqtts,omitempty"`
	HTTP     string   `json:"http,omitempty"`
	Data     string   `json:"data"`
	Minute   string   `json:"minute"`
	Policies []string `json:"policies,omitempty"`
	Throttle string   `json:"throttle,omitempty"`
	// Events are the event types published on $aws/events (--events, or
	// as stored by UpdateEventConfigurations).
	Events []string `json:"events,omitempty"`
}

// printAddresses writes one "name  URL" line per served address (or one
// JSON object): what a user copies into --endpoint or --emulator, and what
// a script waits for.
func printAddresses(ios *iostreams.IOStreams, format render.Format, cfg emulator.Config, emu *emulator.Emulator) error {
	prefixed := func(scheme, addr string) string {
		if addr == "" {
			return ""
		}
		return scheme + addr
	}
	r := readyJSON{
		Broker: cfg.BrokerURL, MQTT: prefixed("mqtt://", emu.MQTTAddr()), MQTTS: prefixed("mqtts://", emu.MQTTSAddr()),
		HTTP: prefixed("http://", emu.HTTPAddr()), Data: cfg.DataPath, Minute: cmp.Or(cfg.Minute, time.Minute).String(),
		Policies: cfg.Policies, Throttle: cfg.Throttle.String(),
	}
	for eventType, c := range emu.Engine().DescribeEventConfigurations().EventConfigurations {
		if c.Enabled {
			r.Events = append(r.Events, eventType)
		}
	}
	slices.Sort(r.Events)
	if format == render.JSON {
		return cmdutil.WriteJSONLine(ios.Out, r)
	}
	w := tabwriter.NewWriter(ios.Out, 0, 0, 2, ' ', 0)
	lines := [][2]string{{"broker", r.Broker}, {"mqtt", r.MQTT}, {"mqtts", r.MQTTS}, {"http", r.HTTP}, {"data", r.Data}, {"minute", r.Minute}}
	for _, p := range r.Policies {
		lines = append(lines, [2]string{"policy", p})
	}
	lines = append(lines, [2]string{"throttle", r.Throttle}, [2]string{"events", strings.Join(r.Events, ", ")})
	for _, line := range lines {
		if line[1] != "" {
			fmt.Fprintf(w, "%s\t%s\n", line[0], line[1])
		}
	}
	return w.Flush()
}

// logTime writes the time of a log record as every other time iotjobs
// shows (jobs.HumanTime).
func logTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.String(slog.TimeKey, jobs.HumanTime(a.Value.Time()))
	}
	return a
}
