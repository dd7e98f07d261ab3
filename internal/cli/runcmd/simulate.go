package runcmd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
// stops; meanwhile it renews the step timer like a handler's run, but for
// a hanging device, which renews nothing: its step timer runs out.
func (r *runner) simulateStep(jr *jobRun) stepOutcome {
	out := stepOutcome{output: &tailBuffer{}, stdout: &tailBuffer{}, stderr: &tailBuffer{}}
	outcome, d := r.o.sim.draw()
	out.output.WriteString("simulated: " + outcome)
	var done <-chan time.Time
	renew := jr.renew
	if outcome != "hang" {
		done = time.After(d)
	} else {
		renew = nil
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
		case <-renew:
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

// runFleet runs every thing of conn.Things in this process, each on its
// own connection with its thing's name as client id (or --client-id with
// the thing's name after it), and reports each finished execution: on a
// terminal, in the fleet's table (see fleetView).
func runFleet(ctx context.Context, o *runOptions) error {
	ios := o.conn.IO
	var shown sync.WaitGroup
	stopShowing := make(chan struct{})
	if ios.IsStderrTTY() {
		// The runners write to the terminal through the view, so that
		// what they write shows above the table.
		o.view = newFleetView(ios.ErrOut, len(o.conn.Things))
		streams := *ios
		streams.ErrOut = o.view.above(ios.ErrOut)
		if ios.IsStdoutTTY() {
			streams.Out = o.view.above(ios.Out)
		}
		o.conn.IO = &streams
		shown.Go(func() { o.view.show(stopShowing) })
	}
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
	shown.Wait()
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
