package runcmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iotjobs/iotjobs/internal/cmdutil"
	"github.com/iotjobs/iotjobs/internal/jobs"
)

// simulation is --simulate: instead of a handler, each job ends ok (exit
// 0), fail (exit 1) or hang (runs until the execution ends or the run
// stops), with those weights, after a duration drawn in [min, max].
type simulation struct {
	ok, fail, hang float64
	min, max       time.Duration
}

// parseSimulation reads "ok=0.9,fail=0.08,hang=0.02,duration=2s..30s";
// the weights are relative, the duration a single value or a range.
func parseSimulation(spec string) (*simulation, error) {
	sim := &simulation{min: time.Second, max: time.Second}
	for _, part := range strings.Split(spec, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("%q: want KEY=VALUE (ok, fail, hang, duration)", part)
		}
		switch key {
		case "ok", "fail", "hang":
			w, err := strconv.ParseFloat(value, 64)
			if err != nil || w < 0 {
				return nil, fmt.Errorf("%s=%s: want a weight of 0 or more, such as 0.9", key, value)
			}
			switch key {
			case "ok":
				sim.ok = w
			case "fail":
				sim.fail = w
			default:
				sim.hang = w
			}
		case "duration":
			lo, hi, isRange := strings.Cut(value, "..")
			if !isRange {
				hi = lo
			}
			a, err1 := time.ParseDuration(lo)
			b, err2 := time.ParseDuration(hi)
			if err1 != nil || err2 != nil || a < 0 || b < a {
				return nil, fmt.Errorf("duration=%s: want a DURATION or MIN..MAX, such as 2s..30s", value)
			}
			sim.min, sim.max = a, b
		default:
			return nil, fmt.Errorf("%q: the keys are ok, fail, hang and duration", key)
		}
	}
	if sim.ok+sim.fail+sim.hang == 0 {
		return nil, fmt.Errorf("%q: give some weight to ok, fail or hang", spec)
	}
	return sim, nil
}

// draw picks an outcome and a duration.
func (sim *simulation) draw() (outcome string, d time.Duration) {
	d = sim.min + time.Duration(rand.Int64N(int64(sim.max-sim.min)+1))
	switch p := rand.Float64() * (sim.ok + sim.fail + sim.hang); {
	case p < sim.ok:
		return "ok", d
	case p < sim.ok+sim.fail:
		return "fail", d
	}
	return "hang", d
}

// simulateStep plays a simulated job: it ends after its duration (ok:
// exit 0, fail: exit 1), or, hanging, when the execution ends or the run
// stops; meanwhile it renews the step timer like a handler's run.
func (r *runner) simulateStep(jr *jobRun) stepOutcome {
	out := stepOutcome{output: &tailBuffer{}, stdout: &tailBuffer{}, stderr: &tailBuffer{}}
	outcome, d := r.o.sim.draw()
	out.output.WriteString("simulated: " + outcome)
	var done <-chan time.Time
	if outcome != "hang" {
		done = time.After(d)
	}
	for {
		select {
		case <-done:
			code := 0
			if outcome == "fail" {
				code = 1
			}
			out.exitCode = &code
			return out
		case <-jr.gone:
			if st, over := r.executionStatus(jr.je.JobID, jr.je.ExecutionNumber); over {
				jr.ended, jr.endedUnder = st, true
				out.signal = "simulated stop"
				return out
			}
		case <-jr.renew:
			if err := r.update(jr.x, jobs.StatusInProgress, &r.o.StepTimeout); err != nil {
				fmt.Fprintf(r.o.conn.IO.ErrOut, "renewing the step timer of job %s failed: %v\n", jr.je.JobID, err)
			}
		case <-jr.stopping:
			jr.stopping, jr.stopped = nil, true
			out.signal = "simulated stop"
			return out
		}
	}
}

// tally counts the finished executions of a fleet by status, and shows
// them on a terminal as one line kept up to date.
type tally struct {
	mu     sync.Mutex
	counts map[jobs.Status]int
	things int
}

func (t *tally) add(status jobs.Status) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[cmp.Or(status, "ENDED")]++
}

// line is "SUCCEEDED 180  FAILED 16  TIMED_OUT 4  (200 executions, 200 things)".
func (t *tally) line() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	total := 0
	for _, st := range slices.Sorted(maps.Keys(t.counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", st, t.counts[st]))
		total += t.counts[st]
	}
	return fmt.Sprintf("%s  (%d executions finished, %d things)", strings.Join(parts, "  "), total, t.things)
}

// runFleet runs every thing of conn.Things in this process, each on its
// own connection with its thing's name as client id (or --client-id with
// the thing's name after it), and reports each finished execution.
func runFleet(ctx context.Context, o *runOptions) error {
	t := &tally{counts: map[jobs.Status]int{}, things: len(o.conn.Things)}
	o.onResult = t.add
	ios := o.conn.IO
	stopShowing := make(chan struct{})
	shown := make(chan struct{})
	go func() {
		defer close(shown)
		if !ios.IsStderrTTY() {
			return
		}
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				fmt.Fprintf(ios.ErrOut, "\r\033[K%s", t.line())
			case <-stopShowing:
				fmt.Fprintf(ios.ErrOut, "\r\033[K%s\n", t.line())
				return
			}
		}
	}()
	var wg sync.WaitGroup
	failed := make(chan error, len(o.conn.Things))
	for _, thing := range o.conn.Things {
		one := *o
		one.conn.Thing, one.conn.ClientID = thing, thing
		if o.clientIDGiven {
			one.conn.ClientID = o.conn.ClientID + "-" + thing
		}
		wg.Go(func() {
			if err := runRun(ctx, &one); err != nil {
				failed <- fmt.Errorf("%s: %w", thing, err)
			}
		})
	}
	wg.Wait()
	close(stopShowing)
	<-shown
	close(failed)
	var first error
	for err := range failed {
		if cmdutil.ExitCode(err) == cmdutil.ExitInterrupted {
			continue // Ctrl-C is how a fleet run ends
		}
		if first == nil {
			first = err
		}
	}
	if first != nil {
		var silent cmdutil.SilentExit
		if !errors.As(first, &silent) {
			fmt.Fprintln(ios.ErrOut, "iotjobs: "+first.Error())
		}
		return cmdutil.SilentExit{Code: cmdutil.ExitFailure}
	}
	return nil
}
