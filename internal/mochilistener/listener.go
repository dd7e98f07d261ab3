// Package mochilistener serves a net.Listener bound by the caller to a
// mochi-mqtt server, without the close-time race of mochi's own listeners.
// The emulator's broker and the test broker of mqttclient both use it.
package mochilistener

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Listener serves a net.Listener bound by the caller to mochi.
//
// mochi's own listeners start each connection on a goroutine that calls
// ClientsWg.Add inside the server, so a connection accepted while the server
// closes races with Close's ClientsWg.Wait: the race detector reports it and
// Close may return before that connection ends. This listener stops
// accepting, disconnects, and waits for every connection it started before
// mochi waits on its group.
type Listener struct {
	server *mqtt.Server
	id     string
	ln     net.Listener
	log    *slog.Logger
	opts   Options

	mu      sync.Mutex
	closed  bool
	conns   map[net.Conn]struct{} // accepted and not yet ended
	running sync.WaitGroup        // one per accepted connection
}

var _ listeners.Listener = (*Listener)(nil)

// Options bound what a client may cost. Zero values mean no bound.
type Options struct {
	// ConnectTimeout bounds the time from accept to a complete CONNECT (a
	// TLS listener's handshake included): a socket that says nothing is
	// closed then. Once mochi has the CONNECT, the client's keep-alive
	// takes over.
	ConnectTimeout time.Duration
	// MaxConnections bounds the open connections; one more is closed at
	// once.
	MaxConnections int
	// Ended, when set, is called with each connection once mochi is done
	// with it: its session is torn down and its client id released.
	Ended func(net.Conn)
}

// New serves ln to server under the listener id; log receives abnormal
// connection ends, refused connections and accept errors.
func New(server *mqtt.Server, id string, ln net.Listener, log *slog.Logger, opts Options) *Listener {
	return &Listener{server: server, id: id, ln: ln, log: log.With("listener", id), opts: opts, conns: map[net.Conn]struct{}{}}
}

func (l *Listener) ID() string              { return l.id }
func (l *Listener) Address() string         { return l.ln.Addr().String() }
func (l *Listener) Protocol() string        { return "tcp" }
func (l *Listener) Init(*slog.Logger) error { return nil }

// Serve accepts connections until Close and hands each to establish, which
// runs the client until it disconnects. An accept error other than the
// listener's closing (too many open files, a connection aborted before it
// was accepted) is logged and retried with a growing pause, as net/http
// does: a listener that gave up would leave its port open and deaf.
func (l *Listener) Serve(establish listeners.EstablishFn) {
	var pause time.Duration
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || l.isClosed() {
				return
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed; retrying", "error", err, "retry_in", pause)
			time.Sleep(pause)
			continue
		}
		pause = 0
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			conn.Close()
			return
		}
		if l.opts.MaxConnections > 0 && len(l.conns) >= l.opts.MaxConnections {
			l.mu.Unlock()
			l.log.Warn("connection refused: the broker has its maximum of connections", "remote", conn.RemoteAddr().String(), "max", l.opts.MaxConnections)
			conn.Close()
			continue
		}
		l.conns[conn] = struct{}{}
		l.running.Add(1)
		l.mu.Unlock()
		if l.opts.ConnectTimeout > 0 {
			_ = conn.SetDeadline(time.Now().Add(l.opts.ConnectTimeout))
		}
		go func() {
			defer l.running.Done()
			// An error here is the client's connection ending abnormally
			// (EOF without DISCONNECT, a failed TLS handshake, a refused
			// CONNECT): worth seeing when a device cannot connect, no fault
			// of the broker.
			err := establish(l.id, conn)
			if l.opts.Ended != nil {
				l.opts.Ended(conn)
			}
			l.mu.Lock()
			delete(l.conns, conn)
			closing := l.closed
			l.mu.Unlock()
			// While closing, every connection ends with an error of ours.
			switch {
			case err == nil || closing:
			case errors.Is(err, packets.ErrPacketTooLarge):
				// A client's fault that would otherwise look like a drop.
				l.log.Warn("connection closed: a packet over the broker's maximum size", "remote", conn.RemoteAddr().String(),
					"max_bytes", l.server.Options.Capabilities.MaximumPacketSize)
			default:
				l.log.Info("client connection ended", "remote", conn.RemoteAddr().String(), "error", err)
			}
		}()
	}
}

func (l *Listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// closeWriteTimeout bounds the DISCONNECT a closing broker sends each client.
const closeWriteTimeout = time.Second

// Close stops accepting, sends DISCONNECT to its clients, closes every
// connection, and waits for all of them to end.
//
// It does not call mochi's closeClients: that one (Clients.GetByListener)
// takes the clients' read lock twice, and a client leaving at that moment
// queues a writer between the two, which deadlocks Close for ever (seen
// under -race; mochi-mqtt/server#488, fixes #489 and #507 not merged in
// v2.7.9). Clients.GetAll takes it once.
func (l *Listener) Close(listeners.CloseFn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	open := make([]net.Conn, 0, len(l.conns))
	for conn := range l.conns {
		open = append(open, conn)
	}
	l.mu.Unlock()
	// No lock is held while touching connections: closing a TLS connection
	// may block on its writer, which must stay free to finish and to
	// deregister itself. A client that stopped reading would block mochi's
	// DISCONNECT write, and so Close, for ever; the deadline bounds that.
	for _, conn := range open {
		conn.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	}
	l.ln.Close()
	for _, cl := range l.server.Clients.GetAll() {
		if cl.Net.Listener == l.id && !cl.Closed() {
			_ = l.server.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
	for _, conn := range open {
		conn.Close()
	}
	l.running.Wait()
}
