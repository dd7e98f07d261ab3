package emulator

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

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
	// Logger; nil discards.
	Logger *slog.Logger
}

// Validate checks the combination of settings and the TLS files without
// touching the network, so a command can refuse bad flags before starting
// anything. Its messages name the settings by their `iotjobs emulator`
// flags, which is how users give them.
func (c Config) Validate() error {
	switch {
	case c.Minute < 0:
		return fmt.Errorf("--minute must be positive, got %s", c.Minute)
	case c.DataPath == "":
		return errors.New("--data is required (" + MemoryDataPath + " keeps nothing)")
	case c.MQTTSAddr == "" && (c.TLSCert != "" || c.TLSKey != "" || c.ClientCA != ""):
		return errors.New("--tls-cert, --tls-key and --client-ca apply to the MQTTS listener: give --mqtts ADDR too")
	case c.MQTTSAddr != "" && (c.TLSCert == "" || c.TLSKey == ""):
		return errors.New("--mqtts needs --tls-cert and --tls-key")
	}
	if c.BrokerURL != "" {
		if c.MQTTAddr != "" || c.MQTTSAddr != "" {
			return errors.New("--broker cannot be combined with --mqtt or --mqtts: attach mode has no broker of its own")
		}
		if _, err := mqttclient.ParseEndpoint(c.BrokerURL); err != nil {
			return fmt.Errorf("--broker: %w", err)
		}
	} else if c.MQTTAddr == "" && c.MQTTSAddr == "" {
		return errors.New("the embedded broker needs --mqtt or --mqtts")
	}
	if c.MQTTSAddr != "" {
		if _, err := serverTLS(c.TLSCert, c.TLSKey, c.ClientCA); err != nil {
			return err
		}
	}
	return nil
}

// Emulator is a running Jobs service: the engine behind an MQTT front (the
// embedded broker, or a client of an existing broker) and the control plane.
type Emulator struct {
	engine *Engine
	front  front
	log    *slog.Logger

	mqttAddr, mqttsAddr string

	http     *http.Server
	httpAddr string
	served   chan struct{} // closed when the HTTP server's Serve returns

	closeOnce sync.Once
	closeErr  error
}

// front is the MQTT side of the emulator: it feeds requests to the engine,
// delivers replies and routes the engine's notifications.
type front interface {
	notify(Message)
	close() error
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
	listen := func(flag, addr string) (net.Listener, error) {
		if addr == "" {
			return nil, nil
		}
		l, err := net.Listen("tcp", addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s %s: the address is in use; is another emulator or broker (Mosquitto) running there? Choose another with %s HOST:PORT", flag, addr, flag)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", flag, addr, err)
		}
		bound = append(bound, l)
		return l, nil
	}
	plain, err := listen("--mqtt", cfg.MQTTAddr)
	if err != nil {
		cleanup()
		return nil, err
	}
	secure, err := listen("--mqtts", cfg.MQTTSAddr)
	if err != nil {
		cleanup()
		return nil, err
	}
	if secure != nil {
		secure = tls.NewListener(secure, tlsConfig)
	}
	httpListener, err := listen("--http", cfg.HTTPAddr)
	if err != nil {
		cleanup()
		return nil, err
	}

	e := &Emulator{log: log}
	e.engine, err = OpenEngine(EngineOptions{
		DataPath: cfg.DataPath,
		Minute:   cfg.Minute,
		// e.front is set below, before Engine.Start arms the timers and
		// before any request or control-plane call can make a notification.
		Notify: func(m Message) { e.front.notify(m) },
		Logger: log.With("component", "engine"),
	})
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("open the store %s: %w", cfg.DataPath, err)
	}

	if cfg.BrokerURL != "" {
		e.front, err = attach(ctx, cfg.BrokerURL, e.engine, log.With("component", "attach"))
	} else {
		e.front, err = startBroker(plain, secure, e.engine, log)
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
		e.serveHTTP(httpListener)
	}
	return e, nil
}

// serveHTTP serves the control plane on l until Close.
func (e *Emulator) serveHTTP(l net.Listener) {
	e.httpAddr = l.Addr().String()
	e.http = &http.Server{
		Handler:           NewControlPlane(e.engine),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(e.log.With("component", "http").Handler(), slog.LevelWarn),
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
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{mqttclient.ALPNProtocol, "mqtt"},
	}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("--client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca %s: no PEM certificate found", clientCA)
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
func (e *Emulator) Engine() *Engine { return e.engine }

// Close stops the control plane, then the MQTT front (no request is in the
// engine afterwards), then the engine, and waits for their goroutines.
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
		if err := e.front.close(); err != nil {
			errs = append(errs, err)
		}
		if err := e.engine.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}
