package devicecmd

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/time/rate"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/jobs"
	"github.com/iotjobs/iotjobs/internal/mqttclient"
	"github.com/iotjobs/iotjobs/internal/render"
)

// Fan-out: one command asks many things at once, over one connection (or
// --connections), its requests pipelined (--parallel per connection) and
// paced (--rate per connection). The Jobs service answers a request only to
// the connection that published it, so one connection can ask about every
// thing the certificate's policy allows.

// The pacing AWS IoT Core needs: at most 100 publishes per second per
// connection (the excess is discarded) and 200 Jobs reads per second per
// account. The default stays safely under both.
const (
	awsRatePerConnection = 80
	awsRatePerAccount    = 160
	defaultParallel      = 64
)

const fanOutHelp = `
Many things at once: repeat -t (or separate names with commas), or give
--things FILE (one name per line; blank lines and # comments ignored; - for
stdin). One connection asks them all, with up to --parallel requests in
flight and at most --rate requests per second on it; --connections N
spreads them over N connections with client ids derived from --client-id
(default: a fresh iotjobs-... id, never a thing's own). Against AWS IoT Core
(*.amazonaws.com, *.amazonaws.com.cn) the default rate keeps under its limits
(100 publishes/s per connection, 200 Jobs reads/s per account): 80/s per
connection, 160/s in all; elsewhere (the emulator, a local broker, an AWS IoT
custom domain, which the name does not tell) requests are not paced: give
--rate. On AWS the replies come without a subscription; elsewhere one
wildcard subscription per connection brings them, unless the server closes
the connection for it (a policy made for AWS IoT allows none): the fan-out
then connects again and goes without. --retries counts per
thing: a RequestThrottled or InternalError refusal is asked again after a
backoff, paced with the rest, within --timeout.

Piped, it prints one JSON line per thing as it finishes:
  {"thing":"...","outcome":"accepted|rejected|timeout|error|canceled","exitCode":N,"reply":{...}}
with the reply as the service sent it (exitCode as a lone command would
exit). On a terminal, a progress bar on stderr, then a summary (--summary
prints only the summary when piped too). Exit status: 0 when every thing's
request was accepted, 1 otherwise, 130 on Ctrl-C (the things not asked are
printed as canceled).`

// fanOut holds the fan-out flags of a command.
type fanOut struct {
	ThingsFile  string
	Parallel    int
	Rate        float64
	Connections int
	Summary     bool

	rateSet bool
}

func (f *fanOut) addFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.ThingsFile, "things", "", "ask the things named in `FILE`, one per line (- for stdin)")
	fl.IntVar(&f.Parallel, "parallel", defaultParallel, "with many things: at most `N` requests in flight per connection")
	fl.Float64Var(&f.Rate, "rate", 0, "with many things: at most `R` requests per second per connection; 0: unpaced (default: 80 against AWS IoT, else unpaced)")
	fl.IntVar(&f.Connections, "connections", 1, "with many things: spread them over `N` connections")
	fl.BoolVar(&f.Summary, "summary", false, "with many things: print only the summary table")
	_ = cmd.MarkFlagFilename("things", "txt")
}

// things completes the list of things: those of -t, then those of --things.
// It reports whether the command fans out.
func (f *fanOut) complete(cmd *cobra.Command, conn *cmdutil.ConnOptions, in io.Reader) (bool, error) {
	f.rateSet = cmd.Flags().Changed("rate")
	switch {
	case f.Parallel < 1:
		return false, cmdutil.Usagef("invalid --parallel %d: must be 1 or more", f.Parallel)
	case f.Connections < 1:
		return false, cmdutil.Usagef("invalid --connections %d: must be 1 or more", f.Connections)
	case f.Rate < 0:
		return false, cmdutil.Usagef("invalid --rate %g: must be 0 (unpaced) or more", f.Rate)
	}
	if f.ThingsFile != "" {
		names, err := cmdutil.ReadThings(f.ThingsFile, in)
		if err != nil {
			return false, err
		}
		for _, name := range names {
			if err := jobs.ValidateThingName(name); err != nil {
				return false, &cmdutil.UsageError{Err: fmt.Errorf("%s: %w", f.ThingsFile, err)}
			}
			if !slices.Contains(conn.Things, name) {
				conn.Things = append(conn.Things, name)
			}
		}
	}
	if len(conn.Things) == 0 {
		return false, cmdutil.Usagef("no thing given: pass -t/--thing NAME[,NAME...], --things FILE, or set %s", cmdutil.EnvThing)
	}
	many := len(conn.Things) > 1 || f.ThingsFile != ""
	if many && cmdutil.InSession(cmd.Context()) {
		// Its connections would take the session's client id over.
		return false, cmdutil.Usagef("a line of iotjobs shell acts on the session's one connection, for one thing at a time; ask many things from your shell's command line: iotjobs %s -t %s ...", cmd.Name(), strings.Join(conn.Things[:min(2, len(conn.Things))], ","))
	}
	if !many {
		for _, flag := range []string{"parallel", "rate", "connections", "summary"} {
			if cmd.Flags().Changed(flag) {
				return false, cmdutil.Usagef("--%s applies to many things (-t a,b or --things FILE)", flag)
			}
		}
	}
	return many, nil
}

// fanRequest builds the request of one thing: its topic and payload.
type fanRequest func(thing, clientToken string) (jobs.Topic, any)

// fanResult is the line printed for one thing.
type fanResult struct {
	Thing    string          `json:"thing"`
	Outcome  string          `json:"outcome"`
	ExitCode int             `json:"exitCode"`
	Reply    json.RawMessage `json:"reply,omitempty"`
	Error    string          `json:"error,omitempty"`

	elapsed time.Duration
}

// The outcomes of a thing's request.
const (
	outcomeAccepted = "accepted"
	outcomeRejected = "rejected"
	outcomeTimeout  = "timeout"
	outcomeError    = "error"
	outcomeCanceled = "canceled"
)

// errNotAllAccepted ends a fan-out in which some thing was not accepted
// (what says what was wanted of them, "were not accepted" by default).
type errNotAllAccepted struct {
	failed, total int
	what          string
	hint          string
}

func (e errNotAllAccepted) Error() string {
	msg := fmt.Sprintf("%d of %d things %s", e.failed, e.total, cmp.Or(e.what, "were not accepted"))
	if e.hint != "" {
		msg += "\n  hint: " + e.hint
	}
	return msg
}

// fanOutRun is one fan-out in progress.
type fanOutRun struct {
	conn    *cmdutil.ConnOptions
	f       *fanOut
	build   fanRequest
	filters []string // the wildcard reply subscriptions, where needed

	mu      sync.Mutex
	results []fanResult
	lines   *json.Encoder
	bar     *progressbar.ProgressBar
	connErr error // why the last connection that failed did
	seq     atomic.Int64
	// unmet says, in the final error, what the things not accepted did
	// not do ("" for "were not accepted").
	unmet string
	// began is when a many-thing wait began: a thing's time is its wait's,
	// not one request's.
	began time.Time
	// unpaced: the requests were sent as fast as they came (--rate 0).
	unpaced bool
}

func (run *fanOutRun) lastErr() error {
	run.mu.Lock()
	defer run.mu.Unlock()
	if run.connErr == nil {
		return errors.New("no connection to ask on")
	}
	return run.connErr
}

// newFanOutRun prepares the output of a fan-out over conn.Things (JSON
// lines, or a progress bar and a summary) and decides the pacing: the
// requests per second allowed on each connection (0: unpaced), and whether
// the endpoint is AWS IoT Core.
func newFanOutRun(conn *cmdutil.ConnOptions, f *fanOut, filters []string, build fanRequest) (run *fanOutRun, perConnection float64, aws bool) {
	run = &fanOutRun{conn: conn, f: f, build: build, filters: filters}
	ios := conn.IO
	if conn.Format() == render.JSON && !f.Summary {
		run.lines = json.NewEncoder(ios.Out)
		run.lines.SetEscapeHTML(false)
	}
	aws = conn.ParsedEndpoint().IsAWSIoT()
	perConnection = f.Rate
	if !f.rateSet && aws {
		perConnection = min(awsRatePerConnection, awsRatePerAccount/float64(f.Connections))
	}
	run.unpaced = perConnection == 0
	if ios.IsStderrTTY() {
		pacing := "unpaced"
		if perConnection > 0 {
			pacing = fmt.Sprintf("at most %g requests/s per connection", perConnection)
		}
		fmt.Fprintf(ios.ErrOut, "asking %d things over %d connection(s), %d in flight per connection, %s\n", len(conn.Things), f.Connections, f.Parallel, pacing)
		run.bar = progressbar.NewOptions(len(conn.Things), progressbar.OptionSetWriter(ios.ErrOut),
			progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionShowIts(), progressbar.OptionSetItsString("things"))
	}
	return run, perConnection, aws
}

// clientIDs are the client ids of the run's connections: --client-id, or
// derived from it when there are several.
func (run *fanOutRun) clientIDs() []string {
	ids := make([]string, run.f.Connections)
	for i := range ids {
		ids[i] = run.conn.ClientID
		if len(ids) > 1 {
			ids[i] = fmt.Sprintf("%s-%d", run.conn.ClientID, i+1)
		}
	}
	return ids
}

// runFanOut asks every thing of conn.Things and prints the results.
// filters are the wildcard filters of the replies (accepted and rejected).
func runFanOut(ctx context.Context, conn *cmdutil.ConnOptions, f *fanOut, filters []string, build fanRequest) error {
	run, perConnection, aws := newFanOutRun(conn, f, filters, build)
	things := conn.Things
	queue := make(chan string)
	var workers sync.WaitGroup
	for _, id := range run.clientIDs() {
		workers.Go(func() { run.connection(ctx, id, aws, perConnection, queue) })
	}
	allGone := make(chan struct{})
	go func() { workers.Wait(); close(allGone) }()
	asked := 0
feed:
	for _, thing := range things {
		select {
		case queue <- thing:
			asked++
		case <-ctx.Done():
			break feed
		case <-allGone:
			break feed // every connection failed
		}
	}
	close(queue)
	<-allGone
	for _, thing := range things[asked:] {
		if ctx.Err() != nil {
			run.done(fanResult{Thing: thing, Outcome: outcomeCanceled, ExitCode: cmdutil.ExitInterrupted})
		} else {
			run.done(run.failure(thing, run.lastErr()))
		}
	}
	return run.finish(ctx)
}

// finish ends the output (the bar, the summary) and says how the run
// ended: interrupted, with some thing not accepted, or well.
func (run *fanOutRun) finish(ctx context.Context) error {
	if run.bar != nil {
		_ = run.bar.Finish()
	}
	if run.lines == nil {
		if err := run.summary(run.conn.IO.Out); err != nil {
			return err
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return context.Canceled
	}
	failed, timedOut := 0, 0
	for _, r := range run.results {
		if r.Outcome != outcomeAccepted {
			failed++
		}
		if r.Outcome == outcomeTimeout {
			timedOut++
		}
	}
	if failed == 0 {
		return nil
	}
	e := errNotAllAccepted{failed: failed, total: len(run.results), what: run.unmet}
	if timedOut > 0 && run.unpaced && run.unmet == "" {
		// A wait's timeouts are things that did not get there; a request's
		// are replies that never came.
		e.hint = fmt.Sprintf("%d got no reply: a broker that discards publishes over a rate (AWS IoT: 100 a second per connection, as the emulator does with --throttle aws) drops an unpaced fan-out's excess; pace it, e.g. --rate 80", timedOut)
	}
	return e
}

// dialReplies connects with cfg through dial and, unless cfg says replies
// come without a subscription (AWS IoT), subscribes to the reply filters.
// A server that closes the connection at that SUBSCRIBE is dialed again
// without it: that is how AWS IoT, and the emulator enforcing the same
// policy, refuse a subscription that a fan-out policy made for AWS IoT
// does not allow, and both answer requests without one (an AWS IoT custom
// domain, which its name does not tell, is one such server).
func dialReplies[C interface {
	SubscribeReplies(context.Context, []string) error
	Close()
}](ctx context.Context, cfg mqttclient.Config, filters []string, dial func(context.Context, mqttclient.Config) (C, error)) (C, error) {
	c, err := dial(ctx, cfg)
	if err != nil || cfg.RepliesUnsubscribed {
		return c, err
	}
	err = c.SubscribeReplies(ctx, filters)
	if err == nil {
		return c, nil
	}
	c.Close()
	var lost *mqttclient.ConnectionError
	if !errors.As(err, &lost) || !lost.Lost || ctx.Err() != nil {
		return c, err
	}
	if cfg.Trace != nil {
		cfg.Trace("* the server closed the connection at the SUBSCRIBE to the replies: connecting again, to take them without one")
	}
	cfg.RepliesUnsubscribed = true
	return dial(ctx, cfg)
}

// connection asks the things it takes from queue over one connection. A
// thing it cannot ask (no connection) is reported as an error; when its
// connection is lost it stops taking things and leaves them to the others.
func (run *fanOutRun) connection(ctx context.Context, clientID string, aws bool, perSecond float64, queue <-chan string) {
	o := run.conn
	cfg := o.ClientConfig()
	cfg.ClientID = clientID
	cfg.RepliesUnsubscribed = aws
	dialCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	c, err := dialReplies(dialCtx, cfg, run.filters, mqttclient.Dial)
	cancel()
	if err != nil {
		// The other connections take the things; if none is left, the
		// things not asked get this error.
		run.mu.Lock()
		run.connErr = o.ExplainTimeout(err)
		run.mu.Unlock()
		return
	}
	defer c.Close()
	limiter := rate.NewLimiter(rate.Inf, 1)
	if perSecond > 0 {
		limiter = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	var lost sync.Once
	dead := make(chan struct{})
	var inFlight sync.WaitGroup
	for range run.f.Parallel {
		inFlight.Go(func() {
			for {
				select {
				case <-dead:
					return
				case thing, ok := <-queue:
					if !ok {
						return
					}
					if err := limiter.Wait(ctx); err != nil {
						run.done(fanResult{Thing: thing, Outcome: outcomeCanceled, ExitCode: cmdutil.ExitInterrupted})
						continue
					}
					result, err := run.ask(ctx, c, thing, limiter.Wait)
					run.done(result)
					var ce *mqttclient.ConnectionError
					if errors.As(err, &ce) {
						// This connection is gone: the others take the rest.
						run.mu.Lock()
						run.connErr = err
						run.mu.Unlock()
						lost.Do(func() { close(dead) })
					}
				}
			}
		})
	}
	inFlight.Wait()
}

// ask sends one thing's request and waits for its reply; err is why it got
// none. A passing refusal of the service (RequestThrottled, InternalError)
// is asked again, up to --retries times, after a backoff and pace.
func (run *fanOutRun) ask(ctx context.Context, c *mqttclient.Conn, thing string, pace func(context.Context) error) (fanResult, error) {
	// A token per request, so that each reply finds its request.
	token := fmt.Sprintf("%.40s-%d", run.conn.ClientToken, run.seq.Add(1))
	topic, req := run.build(thing, token)
	payload, err := json.Marshal(req)
	if err != nil {
		return run.failure(thing, err), err
	}
	reqCtx, cancel := context.WithTimeout(ctx, run.conn.Timeout)
	defer cancel()
	start := time.Now()
	reply, err := c.Request(reqCtx, topic, payload, token)
	for attempt := 1; err == nil && attempt <= run.conn.Retries && cmdutil.RetryCause(reply, nil) != ""; attempt++ {
		// Out of time to ask again, the refusal stands.
		if !cmdutil.WaitToRetry(reqCtx, attempt, nil) || pace(reqCtx) != nil {
			break
		}
		reply, err = c.Request(reqCtx, topic, payload, token)
	}
	elapsed := time.Since(start)
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fanResult{Thing: thing, Outcome: outcomeCanceled, ExitCode: cmdutil.ExitInterrupted, elapsed: elapsed}, nil
	case err != nil:
		err = run.conn.ExplainTimeout(err)
		r := run.failure(thing, err)
		r.elapsed = elapsed
		return r, err
	}
	r := fanResult{Thing: thing, Outcome: outcomeAccepted, Reply: compact(reply.Payload), elapsed: elapsed}
	if !reply.Accepted {
		r.Outcome = outcomeRejected
		r.ExitCode = cmdutil.ExitCode(run.conn.Rejection(topic, nil, reply.Payload, nil))
	}
	return r, nil
}

// failure is the result of a thing whose request got no reply.
func (run *fanOutRun) failure(thing string, err error) fanResult {
	r := fanResult{Thing: thing, Outcome: outcomeError, ExitCode: cmdutil.ExitCode(err), Error: strings.SplitN(err.Error(), "\n", 2)[0]}
	if r.ExitCode == cmdutil.ExitTimeout {
		r.Outcome = outcomeTimeout
	}
	return r
}

// compact is the reply as one line, byte for byte otherwise.
func compact(payload []byte) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, payload); err != nil {
		quoted, _ := json.Marshal(string(payload))
		return quoted // not JSON: kept as a string
	}
	return b.Bytes()
}

// done records a thing's result and prints its line.
func (run *fanOutRun) done(r fanResult) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.results = append(run.results, r)
	if run.lines != nil {
		_ = run.lines.Encode(r) // one line each, written as it comes
	}
	if run.bar != nil {
		_ = run.bar.Add(1)
	}
}

// summary prints the counts per outcome, what the replies say, and the
// slowest things.
func (run *fanOutRun) summary(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	outcomes := map[string]int{}
	for _, r := range run.results {
		outcomes[r.Outcome]++
	}
	fmt.Fprintf(w, "THINGS\t%d\n", len(run.results))
	for _, o := range []string{outcomeAccepted, outcomeRejected, outcomeTimeout, outcomeError, outcomeCanceled} {
		if n := outcomes[o]; n > 0 {
			fmt.Fprintf(w, "%s\t%d\n", strings.ToUpper(o), n)
		}
	}
	if rows := replyCounts(run.results); len(rows) > 0 {
		fmt.Fprintln(w)
		for _, row := range rows {
			fmt.Fprintln(w, row)
		}
	}
	slow := slices.Clone(run.results)
	slices.SortFunc(slow, func(a, b fanResult) int { return cmp.Compare(b.elapsed, a.elapsed) })
	if len(slow) > 0 && slow[0].elapsed > 0 {
		fmt.Fprintln(w, "\nSLOWEST\tTIME\tOUTCOME")
		for _, r := range slow[:min(5, len(slow))] {
			fmt.Fprintf(w, "%s\t%s\t%s\n", r.Thing, r.elapsed.Round(100*time.Microsecond), r.Outcome)
		}
	}
	return w.Flush()
}

// replyCounts reads the replies: for get-pending, how many things have
// each job in progress or queued; for describe and wait, how many
// executions are in each status.
func replyCounts(results []fanResult) []string {
	type pending struct{ inProgress, queued int }
	jobsSeen := map[string]*pending{}
	statuses := map[jobs.Status]int{}
	for _, r := range results {
		// A rejection carries no execution nor lists; a wait that timed
		// out carries the last execution seen, counted in its status.
		if len(r.Reply) == 0 {
			continue
		}
		var reply struct {
			InProgress []jobs.JobExecutionSummary `json:"inProgressJobs"`
			Queued     []jobs.JobExecutionSummary `json:"queuedJobs"`
			Execution  *jobs.JobExecution         `json:"execution"`
		}
		if json.Unmarshal(r.Reply, &reply) != nil {
			continue
		}
		for _, x := range reply.InProgress {
			jobsSeen[x.JobID] = cmp.Or(jobsSeen[x.JobID], &pending{})
			jobsSeen[x.JobID].inProgress++
		}
		for _, x := range reply.Queued {
			jobsSeen[x.JobID] = cmp.Or(jobsSeen[x.JobID], &pending{})
			jobsSeen[x.JobID].queued++
		}
		if reply.Execution != nil {
			statuses[reply.Execution.Status]++
		}
	}
	var rows []string
	if len(jobsSeen) > 0 {
		rows = append(rows, "JOB\tIN PROGRESS\tQUEUED")
		for _, id := range slices.Sorted(maps.Keys(jobsSeen)) {
			rows = append(rows, fmt.Sprintf("%s\t%d\t%d", id, jobsSeen[id].inProgress, jobsSeen[id].queued))
		}
	}
	if len(statuses) > 0 {
		rows = append(rows, "STATUS\tEXECUTIONS")
		for _, s := range slices.Sorted(maps.Keys(statuses)) {
			rows = append(rows, fmt.Sprintf("%s\t%d", s, statuses[s]))
		}
	}
	return rows
}
