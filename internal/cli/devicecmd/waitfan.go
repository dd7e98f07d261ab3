package devicecmd

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
)

// The wait of many things ("is job X finished everywhere?") listens, as
// one thing's wait does, and does not poll. Each connection watches every
// thing's notify and notify-next with two wildcard filters; it looks at
// each of its things' execution once (describe, paced and pipelined like
// any fan-out), then again only when a notification of that thing calls
// for it, and every waiting thing's after a reconnect.

// waitFanFilters are the notification filters of a many-thing wait.
var waitFanFilters = []string{"$aws/things/+/jobs/notify", "$aws/things/+/jobs/notify-next"}

// waitFanReplies are the reply filters of its describes and update probes,
// where replies need a subscription (anywhere but AWS IoT).
var waitFanReplies = []string{
	"$aws/things/+/jobs/+/get/accepted", "$aws/things/+/jobs/+/get/rejected",
	"$aws/things/+/jobs/+/update/accepted", "$aws/things/+/jobs/+/update/rejected",
}

// lookTimeout bounds one look (a describe, and an update probe) of a
// many-thing wait: a reply lost on the way is asked for again, not waited
// for until --timeout.
const lookTimeout = 10 * time.Second

// runWaitFanOut waits for the job's execution on every thing of
// opts.conn.Things, until each reached an awaited status or ended, or the
// --timeout elapsed, printing a result per thing as it settles.
func runWaitFanOut(parent context.Context, opts *waitOptions) error {
	o := &opts.conn
	run, perConnection, aws := newFanOutRun(o, &opts.fan, nil, nil)
	run.unmet = "did not reach " + opts.until.String()
	run.began = time.Now()
	ctx, cancel := context.WithTimeout(parent, o.Timeout)
	defer cancel()
	ids := run.clientIDs()
	groups := make([][]string, len(ids))
	for i, thing := range o.Things {
		groups[i%len(ids)] = append(groups[i%len(ids)], thing)
	}
	var connections sync.WaitGroup
	for i, id := range ids {
		if len(groups[i]) > 0 {
			connections.Go(func() { run.waitConnection(ctx, opts, id, aws, perConnection, groups[i]) })
		}
	}
	connections.Wait()
	return run.finish(parent)
}

// waiting is the state of one thing's wait on its connection.
type waiting struct {
	target waitTarget
	last   jobs.Status
	// absent: the last look found no execution yet (--missing wait).
	absent bool
	// reply is the last describe reply, for the line of a thing that
	// times out.
	reply []byte
	// busy: a look is queued or in flight; again: another is wanted after
	// it.
	busy, again bool
	// refusals counts the looks refused for now in a row (throttled), for
	// the backoff before the next.
	refusals int
}

// lookDone is the end of one look.
type lookDone struct {
	thing string
	look  look
	err   error
}

// waitConnection waits for things over one connection.
func (run *fanOutRun) waitConnection(ctx context.Context, opts *waitOptions, clientID string, aws bool, perSecond float64, things []string) {
	o := run.conn
	cfg := o.ClientConfig()
	cfg.ClientID = clientID
	cfg.RepliesUnsubscribed = aws
	w, err := dialReplies(ctx, cfg, waitFanReplies, func(ctx context.Context, cfg mqttclient.Config) (*mqttclient.Watch, error) {
		return mqttclient.DialWatch(ctx, cfg, waitFanFilters)
	})
	if err != nil {
		for _, thing := range things {
			run.done(run.unsettled(ctx, thing, nil, o.ExplainTimeout(err), opts))
		}
		return
	}
	defer w.Close()
	events := &stream{Watch: w, conn: o}

	state := make(map[string]*waiting, len(things))
	// queue holds each thing at most once (busy), so it never blocks. The
	// lookers get the targets, and never touch state, which is this
	// goroutine's.
	queue := make(chan waitTarget, len(things))
	ask := func(thing string) {
		st := state[thing]
		if st.busy {
			st.again = true
			return
		}
		st.busy = true
		queue <- st.target
	}
	for _, thing := range things {
		state[thing] = &waiting{target: waitTarget{conn: o, thing: thing, jobID: opts.JobID, until: opts.until, awaitCreation: opts.awaitCreation, tokens: opts.tokens}}
		ask(thing)
	}

	// The lookers: up to --parallel looks in flight, paced by --rate.
	lookCtx, stopLooking := context.WithCancel(ctx)
	results := make(chan lookDone)
	limiter := rate.NewLimiter(rate.Inf, 1)
	if perSecond > 0 {
		limiter = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	var lookers sync.WaitGroup
	for range min(run.f.Parallel, len(things)) {
		lookers.Go(func() {
			for {
				var target waitTarget
				select {
				case target = <-queue:
				case <-lookCtx.Done():
					return
				}
				d := lookDone{thing: target.thing, err: limiter.Wait(lookCtx)}
				if d.err == nil {
					reqCtx, cancel := context.WithTimeout(lookCtx, lookTimeout)
					d.look, d.err = target.look(reqCtx, w.Conn)
					cancel()
				}
				select {
				case results <- d:
				case <-lookCtx.Done():
					return
				}
			}
		})
	}
	// Notifications and connection changes, read on their own goroutine.
	evs := make(chan mqttclient.Event)
	go func() {
		for {
			e, err := w.Next(lookCtx)
			if err != nil {
				return
			}
			select {
			case evs <- e:
			case <-lookCtx.Done():
				return
			}
		}
	}()

	// A look the service refused for now is asked again after a backoff.
	later := make(chan string)
	for len(state) > 0 && ctx.Err() == nil {
		select {
		case thing := <-later:
			if state[thing] != nil {
				ask(thing)
			}
		case d := <-results:
			st := state[d.thing]
			st.busy = false
			var lost *mqttclient.ConnectionError
			var timeout *mqttclient.TimeoutError
			switch {
			case errors.As(d.err, &lost), ctx.Err() != nil:
				// The reconnect looks again; the end of --timeout ends all.
			case errors.As(d.err, &timeout):
				ask(d.thing) // a reply lost on the way: ask again
			case d.err != nil:
				run.done(run.failure(d.thing, d.err))
				delete(state, d.thing)
			case d.look.done:
				r := settled(d.thing, d.look)
				r.elapsed = time.Since(run.began)
				run.done(r)
				delete(state, d.thing)
			case d.look.refused:
				st.refusals++
				time.AfterFunc(cmdutil.Backoff(st.refusals), func() {
					select {
					case later <- d.thing:
					case <-lookCtx.Done():
					}
				})
			default:
				st.refusals = 0
				if d.look.status != "" || d.look.absent {
					st.last, st.absent = d.look.status, d.look.absent
				}
				st.reply = d.look.payload
				if st.again {
					st.again = false
					ask(d.thing)
				}
			}
		case e := <-evs:
			switch e.Kind {
			case mqttclient.Message:
				topic, err := jobs.ParseTopic(e.Topic)
				st := state[topic.Thing]
				if err != nil || st == nil {
					continue
				}
				status, recheck := st.target.notified(e)
				if status != "" {
					st.last, st.absent = status, false
				}
				if recheck {
					ask(topic.Thing)
				}
			case mqttclient.Lost, mqttclient.Retrying:
				events.report(e)
			case mqttclient.Reconnected:
				events.report(e)
				for thing := range state {
					ask(thing)
				}
			}
		case <-ctx.Done():
		}
	}
	stopLooking()
	lookers.Wait()
	for thing, st := range state {
		run.done(run.unsettled(ctx, thing, st, nil, opts))
	}
}

// settled is the result of a thing whose wait is over.
func settled(thing string, l look) fanResult {
	r := fanResult{Thing: thing, Outcome: outcomeAccepted, Reply: compact(l.payload)}
	var rejected *cmdutil.RejectedError
	switch {
	case errors.As(l.failure, &rejected):
		r.Outcome, r.ExitCode = outcomeRejected, cmdutil.ExitCode(l.failure)
	case l.failure != nil:
		r.Outcome, r.ExitCode, r.Error = outcomeError, cmdutil.ExitCode(l.failure), l.failure.Error()
	}
	return r
}

// unsettled is the result of a thing still waiting when the wait ended
// (st: what was seen of it): canceled by Ctrl-C, timed out, or never asked
// (err: no connection).
func (run *fanOutRun) unsettled(ctx context.Context, thing string, st *waiting, err error, opts *waitOptions) fanResult {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fanResult{Thing: thing, Outcome: outcomeCanceled, ExitCode: cmdutil.ExitInterrupted}
	}
	if err != nil {
		return run.failure(thing, err)
	}
	timeout := &waitTimeoutError{jobID: opts.JobID, until: opts.until, last: st.last, absent: st.absent, after: run.conn.Timeout}
	msg, _, _ := strings.Cut(timeout.Error(), "\n")
	r := fanResult{Thing: thing, Outcome: outcomeTimeout, ExitCode: cmdutil.ExitTimeout, Error: msg, elapsed: time.Since(run.began)}
	if st.reply != nil {
		r.Reply = compact(st.reply)
	}
	return r
}
