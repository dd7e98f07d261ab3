package cmdutil

import (
	"testing"
	"time"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		400 * time.Microsecond:   "0.4 ms",
		3250 * time.Microsecond:  "3.2 ms",
		42 * time.Millisecond:    "42 ms",
		12340 * time.Millisecond: "12.3s",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
