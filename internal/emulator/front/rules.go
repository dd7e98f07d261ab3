package front

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// AWS IoT Core's message broker rules that the embedded broker applies
// (developer guide: "AWS IoT differences from MQTT specifications",
// "Reserved topics"; general reference: AWS IoT Core quotas).
const (
	maxTopicBytes   = 256
	maxTopicSlashes = 7
	maxPayloadBytes = 128 * 1024
	// maxFiltersPerSubscribe is the filters one SUBSCRIBE may carry.
	maxFiltersPerSubscribe = 8
	// eventsPrefix begins the event topics ($aws/events/job/..., presence,
	// subscriptions, ...), on which AWS IoT allows Subscribe only.
	eventsPrefix = "$aws/events/"
)

// rulesHook closes the connection of a client that breaks AWS IoT's
// rules, as AWS IoT does, and logs why: a PUBLISH on a Jobs topic only the
// service publishes on (a reply, notify, notify-next) or on an event topic
// ($aws/events/...), RETAIN on a reserved ($aws/) topic, a payload over
// 128 KB, a topic or filter over 256 bytes or 7 slashes, more than 8
// filters in a SUBSCRIBE. A PUBLISH at QoS 2, which AWS IoT does not
// support, gets no acknowledgement and goes nowhere, as AWS documents.
// Options.Lenient turns it off.
type rulesHook struct {
	mqtt.HookBase
	log *slog.Logger
	// qos2 holds, by client, the packet id of a QoS 2 PUBLISH read and
	// not yet processed: mochi lowers its QoS before OnPublish sees it.
	qos2 sync.Map
}

func (h *rulesHook) ID() string { return "iotjobs-rules" }

func (h *rulesHook) Provides(b byte) bool {
	return b == mqtt.OnPacketRead || b == mqtt.OnPublish || b == mqtt.OnDisconnect
}

// OnPacketRead sees each packet as it was read; refusing one closes the
// connection before mochi acts on it.
func (h *rulesHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	var broken string
	switch pk.FixedHeader.Type {
	case packets.Publish:
		broken = publishRule(pk)
		if broken == "" && pk.FixedHeader.Qos == 2 {
			h.qos2.Store(cl, pk.PacketID)
		}
	case packets.Subscribe:
		broken = subscribeRule(pk)
	}
	if broken != "" {
		h.log.Warn("connection closed: "+broken, "client", cl.ID)
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

// OnPublish drops a QoS 2 PUBLISH without an acknowledgement.
func (h *rulesHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if id, ok := h.qos2.Load(cl); ok && id == pk.PacketID {
		h.qos2.Delete(cl)
		h.log.Warn("QoS 2 PUBLISH dropped without PUBREC: AWS IoT supports QoS 0 and 1", "client", cl.ID, "topic", pk.TopicName)
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

func (h *rulesHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) { h.qos2.Delete(cl) }

// publishRule is the rule pk breaks, "" for none.
func publishRule(pk packets.Packet) string {
	topic := pk.TopicName
	if r := topicRule("topic", topic); r != "" {
		return r
	}
	if n := len(pk.Payload); n > maxPayloadBytes {
		return fmt.Sprintf("a payload of %d bytes on %s, over AWS IoT's %d", n, topic, maxPayloadBytes)
	}
	if pk.FixedHeader.Retain && strings.HasPrefix(topic, "$aws/") {
		return "RETAIN on the reserved topic " + topic
	}
	if t, err := jobs.ParseTopic(topic); err == nil && (t.Reply != jobs.ReplyNone || t.Op == jobs.OpNotify || t.Op == jobs.OpNotifyNext) {
		return "a PUBLISH on " + topic + ", where only the Jobs service publishes"
	}
	if strings.HasPrefix(topic, eventsPrefix) {
		return "a PUBLISH on " + topic + ", an event topic: clients may only subscribe to them"
	}
	return ""
}

// subscribeRule is the rule pk breaks, "" for none.
func subscribeRule(pk packets.Packet) string {
	if n := len(pk.Filters); n > maxFiltersPerSubscribe {
		return fmt.Sprintf("a SUBSCRIBE with %d filters, over AWS IoT's %d", n, maxFiltersPerSubscribe)
	}
	for _, f := range pk.Filters {
		if r := topicRule("filter", f.Filter); r != "" {
			return r
		}
	}
	return ""
}

// topicRule is the length rule a topic or filter breaks, "" for none.
func topicRule(what, name string) string {
	if len(name) > maxTopicBytes {
		return fmt.Sprintf("a %s of %d bytes, over AWS IoT's %d", what, len(name), maxTopicBytes)
	}
	if n := strings.Count(name, "/"); n > maxTopicSlashes {
		return fmt.Sprintf("a %s with %d slashes, over AWS IoT's %d: %s", what, n, maxTopicSlashes, name)
	}
	return ""
}
