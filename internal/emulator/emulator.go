// Package emulator is the embedded AWS IoT Jobs service, assembled: the
// engine (engine, store, clock) behind an MQTT front (front) and the HTTP
// control plane (controlplane). Start runs it; Config says how.
package emulator

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator/controlplane"
	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/emulator/faults"
	"github.com/iotjobs/iotjobs/internal/emulator/front"
	"github.com/iotjobs/iotjobs/internal/emulator/store"
	"github.com/iotjobs/iotjobs/internal/emulator/throttle"
	"github.com/iotjobs/iotjobs/internal/iotapi"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/policy"
)

// MemoryDataPath as Config.DataPath keeps nothing across runs.
const MemoryDataPath = store.MemoryPath

// DefaultConnectTimeout is Config.ConnectTimeout's default.
const DefaultConnectTimeout = 10 * time.Second

// Config is what `iotjobs emulator` is started with.
type Config struct {
	// MQTTAddr is the plain MQTT listener of the embedded broker; "" for none.
	MQTTAddr string
	// MQTTSAddr is the MQTT-over-TLS listener; "" for none. It needs TLSCert
	// and TLSKey.
	MQTTSAddr string
	// TLSCert and TLSKey are the PEM files of the MQTTS server certificate.
	TLSCert, TLSKey string
	// ClientCA, when set, turns on client-certificate authentication on the
	// MQTTS listener: clients must present a certificate this CA signed.
	ClientCA string
	// HTTPAddr is the control plane's listener; "" for none.
	HTTPAddr string
	// DataPath is the durable store; MemoryDataPath keeps nothing.
	DataPath string
	// BrokerURL selects attach mode: no embedded broker; the Jobs topics are
	// served as a client of the broker at this mqtt:// or mqtts:// URL.
	BrokerURL string
	// Minute is how long one emulated minute lasts; 0 means time.Minute.
	Minute time.Duration
	// ConnectTimeout bounds what a client takes to say who it is: its MQTT
	// CONNECT after accept (TLS handshake included) and its HTTP request
	// headers; idle HTTP connections are closed after six of it. 0 means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// MaxConnections bounds the embedded broker's open connections; 0 means
	// no bound.
	MaxConnections int
	// Throttle applies AWS IoT's rates: the Jobs requests per account
	// (RequestThrottled beyond them) and, in the embedded broker, the
	// publishes per connection and connects per client id. Zero: none.
	Throttle throttle.Limits
	// Lenient turns off the embedded broker's AWS IoT rules (see
	// front.Options.Lenient).
	Lenient bool
	// Policies are files of AWS IoT policy documents that the embedded
	// broker enforces on every connection; none means everything is
	// allowed. Attach mode cannot enforce them.
	Policies []string
	// Events enables the Jobs events (types JOB and JOB_EXECUTION) at
	// start, as UpdateEventConfigurations would, and so stores that. Without
	// it the stored configuration applies; a new store has them disabled,
	// as a new AWS account does.
	Events bool
	// Logger; nil discards.
	Logger *slog.Logger
}

// ConfigError is a bad setting of a Config. Its message names the fields
// involved as {Field}; Error spells them as the Go fields, and Render lets a
// command spell them as the flags that set them.
type ConfigError struct {
	msg string
	err error // the cause, if any
}

func configErrorf(format string, args ...any) *ConfigError {
	err := fmt.Errorf(format, args...)
	return &ConfigError{msg: err.Error(), err: errors.Unwrap(err)}
}

var fieldRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{([A-Za-z]+)\}`) })

// Render spells each {Field} of the message as name(Field).
func (e *ConfigError) Render(name func(field string) string) string {
	return fieldRef().ReplaceAllStringFunc(e.msg, func(ref string) string { return name(ref[1 : len(ref)-1]) })
}

func (e *ConfigError) Error() string { return e.Render(func(field string) string { return field }) }

func (e *ConfigError) Unwrap() error { return e.err }

// Validate checks the combination of settings and the TLS files without
// touching the network, so a command can refuse bad flags before starting
// anything. Its errors are ConfigErrors.
func (c Config) Validate() error {
	switch {
	case c.Minute < 0:
		return configErrorf("{Minute} must be a positive duration, got %s", c.Minute)
	case c.ConnectTimeout < 0:
		return configErrorf("{ConnectTimeout} must be a positive duration, got %s", c.ConnectTimeout)
	case c.MaxConnections < 0:
		return configErrorf("{MaxConnections} must be 0 (no bound) or more, got %d", c.MaxConnections)
	case c.DataPath == "":
		return configErrorf("{DataPath} is required (%s keeps nothing)", MemoryDataPath)
	case c.MQTTSAddr == "" && (c.TLSCert != "" || c.TLSKey != "" || c.ClientCA != ""):
		return configErrorf("{TLSCert}, {TLSKey} and {ClientCA} apply to the MQTTS listener: give {MQTTSAddr} ADDR too")
	case c.MQTTSAddr != "" && (c.TLSCert == "" || c.TLSKey == ""):
		return configErrorf("{MQTTSAddr} needs {TLSCert} and {TLSKey}")
	}
	if c.BrokerURL != "" && c.Lenient {
		return configErrorf("{Lenient} applies to the embedded broker: in attach mode the other broker's rules apply")
	}
	if c.BrokerURL != "" && len(c.Policies) > 0 {
		return configErrorf("{Policies} apply to the embedded broker: in attach mode the other broker decides who may publish, subscribe and receive")
	}
	if _, err := LoadPolicies(c.Policies); err != nil {
		return configErrorf("{Policies}: %w", err)
	}
	if c.BrokerURL != "" {
		if c.MQTTAddr != "" || c.MQTTSAddr != "" {
			return configErrorf("{BrokerURL} cannot be combined with {MQTTAddr} or {MQTTSAddr}: attach mode has no broker of its own")
		}
		if _, err := mqttclient.ParseEndpoint(c.BrokerURL); err != nil {
			return configErrorf("{BrokerURL}: %w", err)
		}
	} else if c.MQTTAddr == "" && c.MQTTSAddr == "" {
		return configErrorf("the embedded broker needs {MQTTAddr} or {MQTTSAddr}")
	}
	if c.MQTTSAddr != "" {
		if _, err := serverTLS(c.TLSCert, c.TLSKey, c.ClientCA); err != nil {
			return err
		}
	}
	return nil
}

// LoadPolicies reads the policy documents of paths.
func LoadPolicies(paths []string) (policy.Set, error) {
	var set policy.Set
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		doc, err := policy.Parse(path, data)
		if err != nil {
			return nil, err
		}
		set = append(set, doc)
	}
	return set, nil
}

// Emulator is a running Jobs service: the engine behind an MQTT front (the
// embedded broker, or a client of an existing broker) and the control plane.
type Emulator struct {
	engine *engine.Engine
	front  mqttFront
	faults *faults.Injector
	log    *slog.Logger

	mqttAddr, mqttsAddr string

	http     *http.Server
	httpAddr string
	served   chan struct{} // closed when the HTTP server's Serve returns

	closeOnce sync.Once
	closeErr  error
}

// mqttFront is the MQTT side of the emulator (front.Broker or
// front.Attachment): it feeds requests to the engine, delivers replies and
// routes the engine's notifications.
type mqttFront interface {
	Notify(engine.Message)
	Close() error
}

// Start validates cfg, opens the store and serves until Close. ctx bounds
// the start-up only: in attach mode, the first connection to the broker.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var tlsConfig *tls.Config
	if cfg.MQTTSAddr != "" {
		var err error
		if tlsConfig, err = serverTLS(cfg.TLSCert, cfg.TLSKey, cfg.ClientCA); err != nil {
			return nil, err
		}
	}

	// Bind every listener before opening the store, so that a busy port
	// fails fast and leaves nothing behind.
	var bound []net.Listener
	cleanup := func() {
		for _, l := range bound {
			l.Close()
		}
	}
	listen := func(field, addr string) (net.Listener, error) {
		if addr == "" {
			return nil, nil
		}
		l, err := net.Listen("tcp", addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, configErrorf("{%s} %s: the address is in use; is another emulator or broker (Mosquitto) running there? Choose another with {%s} HOST:PORT", field, addr, field)
		}
		if err != nil {
			return nil, configErrorf("{%s} %s: %w", field, addr, err)
		}
		bound = append(bound, l)
		return l, nil
	}
	plain, err := listen("MQTTAddr", cfg.MQTTAddr)
	if err != nil {
		cleanup()
		return nil, err
	}
	secure, err := listen("MQTTSAddr", cfg.MQTTSAddr)
	if err != nil {
		cleanup()
		return nil, err
	}
	if secure != nil {
		secure = tls.NewListener(secure, tlsConfig)
	}
	httpListener, err := listen("HTTPAddr", cfg.HTTPAddr)
	if err != nil {
		cleanup()
		return nil, err
	}

	e := &Emulator{log: log, faults: faults.New(log)}
	e.engine, err = engine.Open(engine.Options{
		DataPath: cfg.DataPath,
		Minute:   cfg.Minute,
		// e.front is set below, before Engine.Start arms the timers and
		// before any request or control-plane call can make a notification.
		Notify: e.faults.Notify(func(m engine.Message) { e.front.Notify(m) }),
		Events: func(m engine.Message) { e.front.Notify(m) },
		Logger: log.With("component", "engine"),
	})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("open the store %s: %w", cfg.DataPath, err)
	}
	if cfg.Events {
		on := iotapi.EventConfiguration{Enabled: true}
		err := e.engine.UpdateEventConfigurations(iotapi.UpdateEventConfigurationsInput{EventConfigurations: map[string]iotapi.EventConfiguration{
			iotapi.EventTypeJob: on, iotapi.EventTypeJobExecution: on,
		}})
		if err != nil {
			cleanup()
			e.engine.Close()
			return nil, fmt.Errorf("enable the Jobs events in %s: %w", cfg.DataPath, err)
		}
	}

	policies, err := LoadPolicies(cfg.Policies)
	if err != nil {
		cleanup()
		e.engine.Close()
		return nil, configErrorf("{Policies}: %w", err)
	}
	connectTimeout := cmp.Or(cfg.ConnectTimeout, DefaultConnectTimeout)
	frontOpts := front.Options{Policies: policies, Lenient: cfg.Lenient,
		Handler:            requestLog{next: throttle.Handler(e.faults.Handler(e.engine), cfg.Throttle, log.With("component", "throttle")), log: log.With("component", "requests")},
		Middleware:         []front.Middleware{e.faults.Middleware()},
		PublishesPerSecond: cfg.Throttle.Publishes, ConnectsPerSecond: cfg.Throttle.Connects,
		Logger: log, ConnectTimeout: connectTimeout, MaxConnections: cfg.MaxConnections,
	}
	if cfg.Throttle.On() {
		log.Info("throttling as AWS IoT does", "limits", cfg.Throttle.String())
		if cfg.BrokerURL != "" && (cfg.Throttle.Publishes > 0 || cfg.Throttle.Connects > 0) {
			log.Warn("in attach mode only the Jobs requests are throttled: the other broker takes the publishes and connects")
		}
	}
	if cfg.BrokerURL != "" {
		e.front, err = front.Attach(ctx, cfg.BrokerURL, frontOpts)
	} else {
		var b *front.Broker
		b, err = front.StartBroker(plain, secure, frontOpts)
		if err == nil {
			e.front = b
			e.faults.SetDisconnect(b.Disconnect)
		}
	}
	if err != nil {
		cleanup()
		e.engine.Close()
		return nil, err
	}
	if plain != nil {
		e.mqttAddr = plain.Addr().String()
	}
	if secure != nil {
		e.mqttsAddr = secure.Addr().String()
	}
	e.engine.Start()

	if httpListener != nil {
		e.serveHTTP(httpListener, connectTimeout)
	}
	return e, nil
}

// serveHTTP serves the control plane on l until Close.
func (e *Emulator) serveHTTP(l net.Listener, connectTimeout time.Duration) {
	e.httpAddr = l.Addr().String()
	e.http = &http.Server{
		Handler:           controlplane.New(e.engine, e.httpAddr, e.faults),
		ReadHeaderTimeout: connectTimeout,
		// A body at the API's largest takes no time on a link that works;
		// a client that stalls is cut off.
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  6 * connectTimeout,
		ErrorLog:     slog.NewLogLogger(e.log.With("component", "http").Handler(), slog.LevelWarn),
	}
	e.served = make(chan struct{})
	go func() {
		defer close(e.served)
		if err := e.http.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("control plane stopped", "error", err)
		}
	}()
}

// serverTLS builds the MQTTS listener's configuration. ALPN x-amzn-mqtt-ca
// is what AWS IoT clients offer on port 443; "mqtt" is the registered ALPN
// id. A client offering neither is refused by crypto/tls, one offering none
// is served.
func serverTLS(certFile, keyFile, clientCA string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, configErrorf("{TLSCert} %s and {TLSKey} %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{mqttclient.ALPNProtocol, "mqtt"},
	}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, configErrorf("{ClientCA}: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, configErrorf("{ClientCA} %s: no PEM certificate found", clientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// MQTTAddr is the bound address of the plain MQTT listener, "" if none.
func (e *Emulator) MQTTAddr() string { return e.mqttAddr }

// MQTTSAddr is the bound address of the MQTTS listener, "" if none.
func (e *Emulator) MQTTSAddr() string { return e.mqttsAddr }

// HTTPAddr is the bound address of the control plane, "" if none.
func (e *Emulator) HTTPAddr() string { return e.httpAddr }

// Engine is the jobs engine, for callers that drive it directly (tests,
// the control plane).
func (e *Emulator) Engine() *engine.Engine { return e.engine }

// Close stops the control plane, delivers the notifications committed so
// far, stops the MQTT front (no request is in the engine afterwards), then
// the engine, and waits for their goroutines.
// It is safe to call more than once.
func (e *Emulator) Close() error {
	e.closeOnce.Do(func() {
		var errs []error
		if e.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := e.http.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("control plane: %w", err))
			}
			cancel()
			<-e.served
		}
		// Notifications of what is committed go out before the front closes.
		e.engine.Drain()
		if err := e.front.Close(); err != nil {
			errs = append(errs, err)
		}
		if err := e.engine.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}
