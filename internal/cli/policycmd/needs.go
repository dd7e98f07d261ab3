package policycmd

import (
	"fmt"
	"strings"

	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/policy"
)

// need is one permission a command needs on AWS IoT: an action on a
// resource of kind (client, topic, topicfilter) named name, and why.
type need struct {
	action, kind, name string
	why                string
}

// commands are the device commands a policy can be made for, in the order
// help lists them.
var commands = []string{"get-pending", "start-next", "describe", "update", "watch", "wait", "shell", "run"}

// fanOutCommands are those that ask many things at once.
var fanOutCommands = map[string]bool{"get-pending": true, "describe": true, "wait": true}

// target is what the needs are worked out for: the thing (a name, or a
// pattern with * for many things), the client id the command connects
// with, the job id its job requests name (* for any) and whether it fans
// out over many things.
type target struct {
	thing, clientID, jobID string
	many                   bool
}

// needs lists what cmd does on the wire against AWS IoT Core, as iotjobs
// does it: every command connects; a one-thing request subscribes to its
// two reply topics and receives them, while a fan-out on AWS IoT gets its
// replies without subscribing; watch and wait subscribe to notify and
// notify-next (a many-thing wait with one wildcard filter each).
func needs(cmd string, t target) ([]need, error) {
	if t.many && !fanOutCommands[cmd] {
		return nil, fmt.Errorf("%s acts on one thing; many things (-t a,b or a pattern with *) take only get-pending, describe and wait", cmd)
	}
	list := []need{{policy.Connect, "client", t.clientID, "connect with client id " + t.clientID}}
	request := func(topic jobs.Topic, what string) {
		list = append(list, need{policy.Publish, "topic", topic.String(), "publish the " + what + " request"})
		for _, reply := range []jobs.Topic{topic.Accepted(), topic.Rejected()} {
			if !t.many {
				filter := reply
				if (cmd == "shell" || cmd == "run") && filter.JobID != "" {
					filter.JobID = "+" // the session subscribes once for every job
				}
				list = append(list, need{policy.Subscribe, "topicfilter", filter.String(), "subscribe to the " + what + " reply"})
			}
			list = append(list, need{policy.Receive, "topic", reply.String(), "receive the " + what + " reply"})
		}
	}
	notifications := func() {
		for _, topic := range []jobs.Topic{jobs.NotifyTopic(t.thing), jobs.NotifyNextTopic(t.thing)} {
			filter := topic.String()
			if t.many {
				filter = strings.Replace(filter, "/things/"+t.thing+"/", "/things/+/", 1)
			}
			list = append(list,
				need{policy.Subscribe, "topicfilter", filter, "subscribe to " + topic.Op.String()},
				need{policy.Receive, "topic", topic.String(), "receive " + topic.Op.String()})
		}
	}
	switch cmd {
	case "get-pending":
		request(jobs.GetPendingTopic(t.thing), "get-pending")
	case "start-next":
		request(jobs.StartNextTopic(t.thing), "start-next")
	case "describe":
		request(jobs.DescribeTopic(t.thing, t.jobID), "describe")
	case "update":
		request(jobs.UpdateTopic(t.thing, t.jobID), "update")
	case "watch":
		notifications()
		request(jobs.GetPendingTopic(t.thing), "get-pending (resync after a reconnect)")
	case "shell":
		notifications()
		request(jobs.GetPendingTopic(t.thing), "get-pending")
		request(jobs.StartNextTopic(t.thing), "start-next")
		request(jobs.DescribeTopic(t.thing, t.jobID), "describe")
		request(jobs.UpdateTopic(t.thing, t.jobID), "update")
	case "run":
		// notify-next only, and the replies of every request at once, as
		// the shell subscribes to them.
		next := jobs.NotifyNextTopic(t.thing)
		list = append(list,
			need{policy.Subscribe, "topicfilter", next.String(), "subscribe to notify-next"},
			need{policy.Receive, "topic", next.String(), "receive notify-next"})
		// It sends no get-pending, but subscribes to its replies with the
		// others (one SUBSCRIBE for every reply topic of the thing).
		for _, reply := range []jobs.Topic{jobs.GetPendingTopic(t.thing).Accepted(), jobs.GetPendingTopic(t.thing).Rejected()} {
			list = append(list, need{policy.Subscribe, "topicfilter", reply.String(), "subscribe to every reply topic at once"})
		}
		request(jobs.StartNextTopic(t.thing), "start-next")
		request(jobs.DescribeTopic(t.thing, t.jobID), "describe (--dry-run, and the end of an execution)")
		request(jobs.UpdateTopic(t.thing, t.jobID), "update")
	case "wait":
		notifications()
		request(jobs.DescribeTopic(t.thing, t.jobID), "describe")
		request(jobs.UpdateTopic(t.thing, t.jobID), "update (probe of an ended execution)")
	default:
		return nil, fmt.Errorf("%q is not a device command: use %s", cmd, strings.Join(commands, ", "))
	}
	return list, nil
}
