// Package clock is the emulator's time: the current time, functions run
// later, and the length of an emulated minute. The engine reads all three
// through it, so that tests move a Fake clock instead of sleeping.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and runs functions later.
type Clock interface {
	Now() time.Time
	// AfterFunc runs f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a function waiting to run.
type Timer interface {
	// Stop keeps the function from running; false when it already ran or
	// was stopped.
	Stop() bool
}

// Real is the system clock.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Emulated is a clock with the length of an emulated minute, the unit of
// the step and in-progress timeouts.
type Emulated struct {
	Clock
	Minute time.Duration
}

// Minutes is n emulated minutes.
func (c Emulated) Minutes(n int64) time.Duration { return time.Duration(n) * c.Minute }

// Fake is a clock that moves only when told to. Its timers run, in the
// order of their times, inside Advance: a test that advances the clock past
// a deadline sees the deadline's effects when Advance returns.
type Fake struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64 // orders timers of the same time by creation
	timers []*fakeTimer
}

type fakeTimer struct {
	clock *Fake
	at    time.Time
	seq   uint64
	f     func()
}

// NewFake is a fake clock showing start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now is the fake time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d. It never runs f itself, not even for
// d <= 0: the next Advance does, as a real timer runs on its own goroutine.
func (c *Fake) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{clock: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

// Stop removes the timer if it has not run.
func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, other := range c.timers {
		if other == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			return true
		}
	}
	return false
}

// Advance moves the clock by d and runs, one by one and in time order, the
// timers due by then, each with the clock showing its time. A timer that a
// function schedules runs too if it is due. Advance(0) runs what is due now.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			return a.at.Before(b.at) || (a.at.Equal(b.at) && a.seq < b.seq)
		})
		if len(c.timers) == 0 || c.timers[0].at.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		t := c.timers[0]
		c.timers = c.timers[1:]
		if t.at.After(c.now) {
			c.now = t.at
		}
		c.mu.Unlock()
		t.f()
	}
}

// Pending is the number of timers waiting to run.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}
