package front

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotjobs/iotjobs/internal/emulator/engine"
	"github.com/iotjobs/iotjobs/internal/policy"
)

// policies enforces AWS IoT policies on the embedded broker's clients, as
// AWS IoT Core does: a denied CONNECT is refused; a denied PUBLISH or
// SUBSCRIBE closes the connection; a message the client may not receive is
// not delivered, and the connection stays. Each denial is logged with the
// client id, the action, the resource and what decided it. With no policy
// everything is allowed.
type policies struct {
	set             policy.Set
	region, account string
	log             *slog.Logger
}

// errPolicyDenied is the cause of a connection closed for a denial.
var errPolicyDenied = errors.New("closed by the emulator: an IoT policy denied the client's request")

// on reports whether any policy is loaded.
func (p *policies) on() bool { return p != nil && len(p.set) > 0 }

// connection is what the policy variables know of cl. Over TLS with a
// client certificate, the thing attached to it is the certificate's
// subject CN; over plain MQTT there is no certificate, and the client id is
// taken as the thing attached, so that thing policies can be rehearsed
// without TLS; over TLS without a client certificate no thing is attached.
func connection(cl *mqtt.Client) policy.Connection {
	conn := policy.Connection{ClientID: cl.ID, Thing: cl.ID}
	if tc, ok := cl.Net.Conn.(*tls.Conn); ok {
		conn.Thing = ""
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			conn.Thing = certs[0].Subject.CommonName
		}
	}
	return conn
}

// allowed evaluates action on the resource of kind and name for cl, and
// logs a denial.
func (p *policies) allowed(cl *mqtt.Client, action, kind, name string) bool {
	if !p.on() {
		return true
	}
	resource := policy.ARN(p.region, p.account, kind, name)
	d := p.set.Evaluate(connection(cl), policy.Request{Action: action, Resource: resource})
	if !d.Allowed {
		p.log.Warn("policy denied", "client", cl.ID, "action", action, "resource", resource, "decision", d.String())
	}
	return d.Allowed
}

// deliver wraps the delivery of a reply: one the requester may not
// receive is dropped, as AWS drops it.
func (p *policies) deliver(next Delivery) Delivery {
	if !p.on() {
		return next
	}
	return func(ctx context.Context, req engine.Request, reply engine.Message) error {
		if cl, ok := ctx.Value(clientKey{}).(*mqtt.Client); ok && !p.allowed(cl, policy.Receive, "topic", reply.Topic) {
			return nil
		}
		return next(ctx, req, reply)
	}
}

// subscriptions holds, while mochi processes a SUBSCRIBE, the decision
// taken for each of its filters in OnSubscribe, which sees the whole
// packet; mochi then asks OnACLCheck filter by filter, the same call it
// makes for every delivery, and the decision tells the two apart.
type subscriptions struct {
	mu      sync.Mutex
	pending map[*mqtt.Client]map[string]bool
}

func (s *subscriptions) decide(cl *mqtt.Client, decisions map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending == nil {
		s.pending = map[*mqtt.Client]map[string]bool{}
	}
	s.pending[cl] = decisions
}

// take returns and forgets the decision on filter of cl's SUBSCRIBE in
// progress; ok is false when there is none (a delivery).
func (s *subscriptions) take(cl *mqtt.Client, filter string) (allowed, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	decisions := s.pending[cl]
	allowed, ok = decisions[filter]
	if ok {
		delete(decisions, filter)
		if len(decisions) == 0 {
			delete(s.pending, cl)
		}
	}
	return allowed, ok
}

// forget drops what is pending for cl (its SUBSCRIBE was cut short).
func (s *subscriptions) forget(cl *mqtt.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, cl)
}

// refuse closes cl's connection for a denial. mochi goes on with the
// packet in hand, but nothing it writes reaches the client any more.
func refuse(cl *mqtt.Client) {
	cl.Stop(errPolicyDenied)
}

// emptied is pk without its filters: nothing of it is subscribed.
func emptied(pk packets.Packet) packets.Packet {
	pk.Filters = nil
	return pk
}
