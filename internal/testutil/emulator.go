package testutil

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/iotjobs/iotjobs/internal/emulator"
)

// Emulator is an emulator started in the test process on 127.0.0.1 ports.
// The embedded *emulator.Emulator gives Engine(), to create jobs directly,
// and Close(), to stop it before the test ends (a restart test); it is also
// closed when the test ends.
type Emulator struct {
	*emulator.Emulator
	// Endpoint is where a device connects: mqtt://127.0.0.1:PORT of the
	// embedded broker, or of Mosquitto with WithMosquitto.
	Endpoint string
	// MQTTSAddr is the TLS listener's 127.0.0.1:PORT; "" without WithTLS.
	MQTTSAddr string
	// HTTPURL is the control plane's base URL, http://127.0.0.1:PORT.
	HTTPURL string
	// DataPath is the store the emulator uses.
	DataPath string
	// Mosquitto is the broker the emulator is attached to, nil unless
	// WithMosquitto.
	Mosquitto *Mosquitto

	cfg emulator.Config // as started, for Restart
}

// Option changes how StartEmulator starts the emulator.
type Option func(*options)

type options struct {
	cfg       emulator.Config
	mosquitto bool
}

// WithMinute sets the length of an emulated minute, so timers fire fast.
func WithMinute(d time.Duration) Option { return func(o *options) { o.cfg.Minute = d } }

// WithDataPath uses a store file, to restart an emulator on the same state.
// The default keeps nothing (emulator.MemoryDataPath).
func WithDataPath(path string) Option { return func(o *options) { o.cfg.DataPath = path } }

// WithTempDataPath uses a fresh store file in t.TempDir().
func WithTempDataPath(t testing.TB) Option {
	return WithDataPath(filepath.Join(t.TempDir(), "emulator.db"))
}

// WithTLS adds the MQTTS listener with this server certificate and key.
func WithTLS(certFile, keyFile string) Option {
	return func(o *options) { o.cfg.TLSCert, o.cfg.TLSKey = certFile, keyFile }
}

// WithClientCA requires MQTTS clients to present a certificate signed by
// this CA. It needs WithTLS.
func WithClientCA(caFile string) Option { return func(o *options) { o.cfg.ClientCA = caFile } }

// WithLogger sends the emulator's logs to l; by default they are discarded.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.cfg.Logger = l } }

// WithConfig changes the emulator's configuration as edit says.
func WithConfig(edit func(*emulator.Config)) Option { return func(o *options) { edit(&o.cfg) } }

// WithMosquitto starts a real Mosquitto 2 (see StartMosquitto) and attaches
// the emulator to it as a client; Endpoint is then Mosquitto's.
func WithMosquitto() Option { return func(o *options) { o.mosquitto = true } }

// StartEmulator starts an emulator with a plain MQTT listener (unless
// WithMosquitto) and the HTTP control plane, both on 127.0.0.1:0, and
// closes it when the test ends.
func StartEmulator(t testing.TB, opts ...Option) *Emulator {
	t.Helper()
	o := options{cfg: emulator.Config{
		MQTTAddr: "127.0.0.1:0",
		HTTPAddr: "127.0.0.1:0",
		DataPath: emulator.MemoryDataPath,
	}}
	for _, opt := range opts {
		opt(&o)
	}
	if o.cfg.TLSCert != "" {
		o.cfg.MQTTSAddr = "127.0.0.1:0"
	}
	var mosquitto *Mosquitto
	if o.mosquitto {
		mosquitto = StartMosquitto(t)
		o.cfg.MQTTAddr = ""
		o.cfg.BrokerURL = mosquitto.URL
	}

	emu := startEmulator(t, o.cfg)
	endpoint := "mqtt://" + emu.MQTTAddr()
	if mosquitto != nil {
		endpoint = mosquitto.URL
	}
	e := &Emulator{
		Emulator:  emu,
		Mosquitto: mosquitto,
		Endpoint:  endpoint,
		MQTTSAddr: emu.MQTTSAddr(),
		HTTPURL:   "http://" + emu.HTTPAddr(),
		DataPath:  o.cfg.DataPath,
		cfg:       o.cfg,
	}
	// The one running when the test ends, after any Restart.
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close the emulator: %v", err)
		}
	})
	return e
}

func startEmulator(t testing.TB, cfg emulator.Config) *emulator.Emulator {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	emu, err := emulator.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start the emulator: %v", err)
	}
	return emu
}

// Restart stops the emulator and starts it again on the same addresses and
// store, the way a service restart looks to its clients: connections drop,
// and they find the same endpoint and the same jobs when they come back.
// Keeping the jobs needs a store file (WithDataPath, WithTempDataPath).
// Call it from the test's goroutine.
func (e *Emulator) Restart(t testing.TB) {
	t.Helper()
	e.Stop(t)()
}

// Stop stops the emulator, for as long as the test wants it away; the
// function it returns starts it again as Restart does.
func (e *Emulator) Stop(t testing.TB) (start func()) {
	t.Helper()
	if err := e.Close(); err != nil {
		t.Fatalf("close the emulator: %v", err)
	}
	cfg := e.cfg
	cfg.MQTTAddr, cfg.MQTTSAddr, cfg.HTTPAddr = e.Emulator.MQTTAddr(), e.Emulator.MQTTSAddr(), e.Emulator.HTTPAddr()
	return func() { e.Emulator = startEmulator(t, cfg) }
}
