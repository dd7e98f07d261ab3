package front

import (
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// clientIDs gives each client id to one connection at a time, atomically.
//
// mochi's own takeover looks the id up and registers the new client in two
// steps: clients connecting at once with one id may all find nobody, and
// all stay connected, while the id's routes point at only one of them (the
// others get replies and no notifications). And a taken-over client's
// teardown deletes the id's registration whoever holds it by then.
// clientIDs serialises CONNECTs per id: a new one disconnects the holder
// and waits until mochi has torn that connection down before going on, so
// the newest connection is the only one left, with its routes intact.
type clientIDs struct {
	server *mqtt.Server

	mu      sync.Mutex
	holders map[string]*holder   // by client id
	byConn  map[net.Conn]*holder // the same, by connection
}

type holder struct {
	id    string
	cl    *mqtt.Client
	ended chan struct{} // closed when mochi is done with the connection
}

// teardownWait bounds the wait for a taken-over connection's end.
const teardownWait = 5 * time.Second

func newClientIDs(server *mqtt.Server) *clientIDs {
	return &clientIDs{server: server, holders: map[string]*holder{}, byConn: map[net.Conn]*holder{}}
}

// claim makes cl the holder of its client id, disconnecting and outwaiting
// every earlier holder. It runs in the connecting client's own goroutine.
func (c *clientIDs) claim(cl *mqtt.Client) {
	me := &holder{id: cl.ID, cl: cl, ended: make(chan struct{})}
	for {
		c.mu.Lock()
		cur := c.holders[cl.ID]
		if cur == nil {
			c.holders[cl.ID] = me
			c.byConn[cl.Net.Conn] = me
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		_ = c.server.DisconnectClient(cur.cl, packets.ErrSessionTakenOver)
		select {
		case <-cur.ended:
		case <-time.After(teardownWait):
			// Never wait for ever on a connection that does not end: take
			// its place.
			c.release(cur)
		}
	}
}

// ended is the listener's word that mochi is done with conn.
func (c *clientIDs) ended(conn net.Conn) {
	c.mu.Lock()
	h := c.byConn[conn]
	c.mu.Unlock()
	if h != nil {
		c.release(h)
	}
}

func (c *clientIDs) release(h *holder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holders[h.id] == h {
		delete(c.holders, h.id)
	}
	if c.byConn[h.cl.Net.Conn] == h {
		delete(c.byConn, h.cl.Net.Conn)
		close(h.ended)
	}
}
