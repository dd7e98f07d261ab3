package iotapi

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// EpochSeconds is a timestamp as the restJson1 protocol sends it: seconds
// since the epoch as a JSON number, with milliseconds as the fraction (as
// the live service sends them). The zero value is unset; give the field
// the omitzero option so that an unset time is left out.
type EpochSeconds struct{ time.Time }

// Epoch is t as an EpochSeconds.
func Epoch(t time.Time) EpochSeconds { return EpochSeconds{t} }

// MarshalJSON writes seconds with a millisecond fraction.
func (t EpochSeconds) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads seconds, with or without a fraction.
func (t *EpochSeconds) UnmarshalJSON(data []byte) error {
	var seconds float64
	if err := json.Unmarshal(data, &seconds); err != nil {
		return err
	}
	t.Time = time.UnixMilli(int64(math.Round(seconds * 1000)))
	return nil
}

// String is the time for a person to read (jobs.HumanTime), "" when unset.
func (t EpochSeconds) String() string {
	if t.IsZero() {
		return ""
	}
	return jobs.HumanTime(t.Time)
}
