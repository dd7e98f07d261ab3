// Package emulator is the embedded AWS IoT Jobs service: a durable engine
// (store, state machine, timers, notifications) behind an MQTT front and an
// HTTP control plane.
package emulator

import (
	"log/slog"
	"time"
)

// Message is one MQTT publication the engine wants sent.
type Message struct {
	Topic   string
	Payload []byte
}

// EngineOptions configures OpenEngine.
type EngineOptions struct {
	// DataPath is the bbolt file; MemoryDataPath keeps nothing across runs
	// but otherwise behaves the same.
	DataPath string
	// Minute is the length of one emulated minute (step and in-progress
	// timers); 0 means time.Minute.
	Minute time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Notify receives every notify and notify-next publication after the
	// change is committed. It is called synchronously, in commit order per
	// thing, so it must return quickly and must not call back into the Engine.
	Notify func(Message)
	// Logger; nil discards.
	Logger *slog.Logger
}

// MemoryDataPath as EngineOptions.DataPath keeps nothing across runs.
const MemoryDataPath = ":memory:"

// RequestFilters are the topic filters a service client subscribes to in
// attach mode. Two single-level wildcards at the depths of the request topics
// ($aws/things/T/jobs/get|start-next and $aws/things/T/jobs/J/get|update) see
// every request and every unknown topic at those depths, and they do not
// overlap, so no broker delivers a request twice. They also echo the
// engine's own notify and get|start-next replies back to it; HandlePublish
// ignores those.
var RequestFilters = []string{
	"$aws/things/+/jobs/+",
	"$aws/things/+/jobs/+/+",
}

// Engine is the Jobs service. It is safe for concurrent use.
type Engine struct{}

// OpenEngine opens (or creates) the store at opts.DataPath and loads it.
func OpenEngine(opts EngineOptions) (*Engine, error) { return &Engine{}, nil }

// Start arms the timers loaded from the store; one that expired while the
// engine was down fires now. Call it once Notify's target is ready.
func (e *Engine) Start() {}

// Close stops the timers and closes the store.
func (e *Engine) Close() error { return nil }

// HandlePublish handles one publication by a device. For a Jobs request topic,
// or a topic in the $aws/things/T/jobs/ namespace that maps to no API, it
// returns the reply to deliver to the publishing client only, with ok true.
// Anything else (reply and notify topics, topics outside the namespace) is
// ignored: ok is false.
func (e *Engine) HandlePublish(topic string, payload []byte) (reply Message, ok bool) {
	return Message{}, false
}
