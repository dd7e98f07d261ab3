// Package mqttclient is the device side's only door to the MQTT client
// library: endpoint parsing, TLS, connect, one-shot requests and watches.
package mqttclient

import "time"

// ConnectionError is a failure to connect, or a connection lost before the
// reply (exit 3). Hint, when set, tells the user what to do.
type ConnectionError struct {
	Op   string // "connect", "subscribe", "publish", "wait"
	Err  error
	Hint string
}

func (e *ConnectionError) Error() string {
	msg := e.Op + ": " + e.Err.Error()
	if e.Hint != "" {
		msg += "\n  hint: " + e.Hint
	}
	return msg
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// TimeoutError is no reply within the deadline (exit 4).
type TimeoutError struct {
	Op    string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return "no reply to " + e.Op + " within " + e.After.String()
}
