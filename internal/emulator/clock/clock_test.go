package clock

import (
	"testing"
	"time"
)

func TestFakeRunsTimersInOrderInsideAdvance(t *testing.T) {
	start := time.Unix(1700000000, 0)
	c := NewFake(start)
	var ran []string
	at := func(name string) func() {
		return func() { ran = append(ran, name+"@"+c.Now().Sub(start).String()) }
	}
	c.AfterFunc(2*time.Minute, at("b"))
	c.AfterFunc(time.Minute, at("a"))
	stopped := c.AfterFunc(90*time.Second, at("never"))
	c.AfterFunc(2*time.Minute, func() {
		ran = append(ran, "c@"+c.Now().Sub(start).String())
		c.AfterFunc(0, at("chained"))
	})
	c.AfterFunc(0, at("now"))
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop must report true once")
	}
	c.Advance(0)
	c.Advance(2 * time.Minute)
	want := []string{"now@0s", "a@1m0s", "b@2m0s", "c@2m0s", "chained@2m0s"}
	if len(ran) != len(want) {
		t.Fatalf("ran %v, want %v", ran, want)
	}
	for i := range want {
		if ran[i] != want[i] {
			t.Fatalf("ran %v, want %v", ran, want)
		}
	}
	if c.Pending() != 0 || !c.Now().Equal(start.Add(2*time.Minute)) {
		t.Errorf("after: %d pending, now %v", c.Pending(), c.Now())
	}
}

func TestEmulatedMinutes(t *testing.T) {
	c := Emulated{Clock: Real(), Minute: time.Second}
	if c.Minutes(90) != 90*time.Second {
		t.Errorf("90 emulated minutes of 1s = %v", c.Minutes(90))
	}
	fired := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(fired) })
	<-fired
}
