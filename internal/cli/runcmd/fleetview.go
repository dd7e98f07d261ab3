package runcmd

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// fleetView is a fleet's live table on a terminal, in place of a line per
// execution: the things, the executions running now and those finished,
// by status, redrawn on stderr at most ten times a second. Whatever else
// is written to the terminal meanwhile (a handler's output, a warning)
// goes through above, and shows above the table.
type fleetView struct {
	mu       sync.Mutex
	term     io.Writer // stderr, a terminal
	things   int
	waiting  int // things waiting for a job
	running  int // executions started whose handler has not finished
	retried  int // executions started that were not their job's first
	finished map[jobs.Status]int
	// lines is the height of the table on screen, 0 when it is not there
	// (not drawn yet, erased by a write, or left for good at the end).
	lines int
	// stale says that the table on screen, if any, no longer shows the
	// counts.
	stale bool
	// midLine says that the last write left the cursor after some text,
	// on the line where the table would start.
	midLine bool
}

// viewRefresh is how often the table may be redrawn.
const viewRefresh = 100 * time.Millisecond

func newFleetView(term io.Writer, things int) *fleetView {
	return &fleetView{term: term, things: things, finished: map[jobs.Status]int{}, stale: true}
}

// waitingForJob counts a thing that waits for a job (delta 1) or no
// longer does (delta -1).
func (v *fleetView) waitingForJob(delta int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.waiting += delta
	v.stale = true
}

// started counts an execution whose handler starts.
func (v *fleetView) started(executionNumber int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.running++
	if executionNumber > 1 {
		v.retried++
	}
	v.stale = true
}

// ended counts an execution whose handler has finished, and whose outcome
// is reported with status.
func (v *fleetView) ended(status jobs.Status) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.running--
	v.finished[status]++
	v.stale = true
}

// show draws the table now and whenever it is stale, until stop is
// closed; it then draws it one last time and leaves it on screen.
func (v *fleetView) show(stop <-chan struct{}) {
	tick := time.NewTicker(viewRefresh)
	defer tick.Stop()
	v.mu.Lock()
	v.draw()
	v.mu.Unlock()
	for {
		select {
		case <-tick.C:
			v.mu.Lock()
			if v.stale {
				v.draw()
			}
			v.mu.Unlock()
		case <-stop:
			v.mu.Lock()
			defer v.mu.Unlock()
			v.draw()
			v.lines = 0 // left on screen: no write erases it
			return
		}
	}
}

// draw puts the table in place of the one on screen; mu is held.
func (v *fleetView) draw() {
	var table bytes.Buffer
	w := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	things := strconv.Itoa(v.things)
	if v.waiting > 0 {
		things += fmt.Sprintf(" (%d waiting for a job)", v.waiting)
	}
	fmt.Fprintf(w, "THINGS\t%s\n", things)
	fmt.Fprintf(w, "RUNNING\t%d\n", v.running)
	for _, status := range finishedOrder(v.finished) {
		fmt.Fprintf(w, "%s\t%d\n", statusLabel(status), v.finished[status])
	}
	if v.retried > 0 {
		fmt.Fprintf(w, "RETRIED\t%d\n", v.retried)
	}
	_ = w.Flush()
	v.erase()
	if v.midLine {
		fmt.Fprintln(v.term)
		v.midLine = false
	}
	_, _ = v.term.Write(table.Bytes())
	v.lines = bytes.Count(table.Bytes(), []byte("\n"))
	v.stale = false
}

// erase clears the table from the screen, if it is there; mu is held.
func (v *fleetView) erase() {
	if v.lines > 0 {
		// Up to the first line of the table, and clear from there.
		fmt.Fprintf(v.term, "\r\033[%dA\033[J", v.lines)
		v.lines, v.stale = 0, true
	}
}

// above returns a writer to w, on the view's terminal, whose writes show
// above the table: each erases the table, which show then redraws.
func (v *fleetView) above(w io.Writer) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		v.mu.Lock()
		defer v.mu.Unlock()
		v.erase()
		n, err := w.Write(p)
		if n > 0 {
			v.midLine = p[n-1] != '\n'
		}
		return n, err
	})
}

// writerFunc is a function as an io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// finishedOrder lists the statuses counted: the terminal ones in the
// order of jobs.Statuses, then the others (an outcome the service refused
// leaves its execution pending; "" when the service did not say).
func finishedOrder(finished map[jobs.Status]int) []jobs.Status {
	rank := func(status jobs.Status) int {
		i := slices.Index(jobs.Statuses, status)
		switch {
		case i < 0:
			return 2 * len(jobs.Statuses)
		case status.Terminal():
			return i
		}
		return len(jobs.Statuses) + i
	}
	return slices.SortedFunc(maps.Keys(finished), func(a, b jobs.Status) int { return cmp.Compare(rank(a), rank(b)) })
}

// statusLabel is how the table names a status: as the wire spells it, or
// UNKNOWN when the service did not say.
func statusLabel(status jobs.Status) string {
	if status == "" {
		return "UNKNOWN"
	}
	return string(status)
}
