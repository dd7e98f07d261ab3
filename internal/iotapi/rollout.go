package iotapi

import (
	"fmt"
	"math"
	"net/http"
	"slices"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// The job configurations of a rollout, as CreateJob takes them and
// DescribeJob returns them, with AWS's ranges checked by Check.

// JobExecutionsRolloutConfig paces the creation of a job's executions.
type JobExecutionsRolloutConfig struct {
	MaximumPerMinute *int64                  `json:"maximumPerMinute,omitempty"`
	ExponentialRate  *ExponentialRolloutRate `json:"exponentialRate,omitempty"`
}

// ExponentialRolloutRate starts at BaseRatePerMinute and multiplies the
// rate by IncrementFactor each time RateIncreaseCriteria is met again.
type ExponentialRolloutRate struct {
	BaseRatePerMinute    int64                `json:"baseRatePerMinute"`
	IncrementFactor      float64              `json:"incrementFactor"`
	RateIncreaseCriteria RateIncreaseCriteria `json:"rateIncreaseCriteria"`
}

// RateIncreaseCriteria: the rate increases every NumberOfNotifiedThings
// things notified, or every NumberOfSucceededThings things succeeded.
type RateIncreaseCriteria struct {
	NumberOfNotifiedThings  *int64 `json:"numberOfNotifiedThings,omitempty"`
	NumberOfSucceededThings *int64 `json:"numberOfSucceededThings,omitempty"`
}

// AbortConfig cancels a job whose executions fail too often.
type AbortConfig struct {
	CriteriaList []AbortCriteria `json:"criteriaList"`
}

// AbortCriteria is one abort threshold.
type AbortCriteria struct {
	FailureType               string  `json:"failureType"` // FAILED, REJECTED, TIMED_OUT or ALL
	Action                    string  `json:"action"`      // CANCEL
	ThresholdPercentage       float64 `json:"thresholdPercentage"`
	MinNumberOfExecutedThings int64   `json:"minNumberOfExecutedThings"`
}

// JobExecutionsRetryConfig retries failed executions as new ones.
type JobExecutionsRetryConfig struct {
	CriteriaList []RetryCriteria `json:"criteriaList"`
}

// RetryCriteria is how many times one kind of failure is retried.
type RetryCriteria struct {
	FailureType     string `json:"failureType"` // FAILED, TIMED_OUT or ALL
	NumberOfRetries int64  `json:"numberOfRetries"`
}

// The failure types of abort and retry criteria, and the abort action.
const (
	FailureFailed   = "FAILED"
	FailureRejected = "REJECTED"
	FailureTimedOut = "TIMED_OUT"
	FailureAll      = "ALL"
	AbortCancel     = "CANCEL"
)

// Limits of the rollout configurations (AWS IoT API reference).
const (
	MaxRolloutPerMinute = 1000
	MaxRetries          = 10
	MaxAbortCriteria    = 4
	MaxRetryCriteria    = 2
)

// decimals reports whether v has at most n digits after the decimal point.
func decimals(v float64, n int) bool {
	scaled := v * math.Pow10(n)
	return math.Abs(scaled-math.Round(scaled)) < 1e-6
}

// Check checks the rollout configuration; errors are InvalidRequest.
func (c *JobExecutionsRolloutConfig) Check() error {
	if c.MaximumPerMinute == nil && c.ExponentialRate == nil {
		return Errorf(InvalidRequest, "jobExecutionsRolloutConfig needs maximumPerMinute or exponentialRate")
	}
	if m := c.MaximumPerMinute; m != nil && (*m < 1 || *m > MaxRolloutPerMinute) {
		return Errorf(InvalidRequest, "jobExecutionsRolloutConfig.maximumPerMinute must be between 1 and %d, got %d", MaxRolloutPerMinute, *m)
	}
	x := c.ExponentialRate
	if x == nil {
		return nil
	}
	switch {
	case x.BaseRatePerMinute < 1 || x.BaseRatePerMinute > MaxRolloutPerMinute:
		return Errorf(InvalidRequest, "exponentialRate.baseRatePerMinute must be between 1 and %d, got %d", MaxRolloutPerMinute, x.BaseRatePerMinute)
	case x.IncrementFactor < 1.1 || x.IncrementFactor > 5 || !decimals(x.IncrementFactor, 1):
		return Errorf(InvalidRequest, "exponentialRate.incrementFactor must be between 1.1 and 5 with at most one digit after the decimal point, got %v", x.IncrementFactor)
	}
	n, s := x.RateIncreaseCriteria.NumberOfNotifiedThings, x.RateIncreaseCriteria.NumberOfSucceededThings
	switch {
	case (n == nil) == (s == nil):
		return Errorf(InvalidRequest, "exponentialRate.rateIncreaseCriteria needs exactly one of numberOfNotifiedThings and numberOfSucceededThings")
	case n != nil && *n < 1, s != nil && *s < 1:
		return Errorf(InvalidRequest, "exponentialRate.rateIncreaseCriteria must be at least 1")
	}
	return nil
}

// Check checks the abort configuration; errors are InvalidRequest.
func (c *AbortConfig) Check() error {
	if len(c.CriteriaList) == 0 || len(c.CriteriaList) > MaxAbortCriteria {
		return Errorf(InvalidRequest, "abortConfig.criteriaList must have 1 to %d criteria", MaxAbortCriteria)
	}
	seen := map[string]bool{}
	for i, a := range c.CriteriaList {
		at := fmt.Sprintf("abortConfig.criteriaList[%d]", i)
		switch {
		case !slices.Contains([]string{FailureFailed, FailureRejected, FailureTimedOut, FailureAll}, a.FailureType):
			return Errorf(InvalidRequest, "%s.failureType must be FAILED, REJECTED, TIMED_OUT or ALL, got %q", at, a.FailureType)
		case seen[a.FailureType]:
			return Errorf(InvalidRequest, "%s.failureType %s is given twice", at, a.FailureType)
		case a.Action != AbortCancel:
			return Errorf(InvalidRequest, "%s.action must be CANCEL, got %q", at, a.Action)
		case a.ThresholdPercentage < 0 || a.ThresholdPercentage > 100 || !decimals(a.ThresholdPercentage, 2):
			return Errorf(InvalidRequest, "%s.thresholdPercentage must be between 0 and 100 with at most two digits after the decimal point, got %v", at, a.ThresholdPercentage)
		case a.MinNumberOfExecutedThings < 1:
			return Errorf(InvalidRequest, "%s.minNumberOfExecutedThings must be at least 1, got %d", at, a.MinNumberOfExecutedThings)
		}
		seen[a.FailureType] = true
	}
	return nil
}

// Check checks the retry configuration; errors are InvalidRequest.
func (c *JobExecutionsRetryConfig) Check() error {
	if len(c.CriteriaList) == 0 || len(c.CriteriaList) > MaxRetryCriteria {
		return Errorf(InvalidRequest, "jobExecutionsRetryConfig.criteriaList must have 1 to %d criteria", MaxRetryCriteria)
	}
	seen := map[string]bool{}
	total := int64(0)
	for i, r := range c.CriteriaList {
		at := fmt.Sprintf("jobExecutionsRetryConfig.criteriaList[%d]", i)
		switch {
		case !slices.Contains([]string{FailureFailed, FailureTimedOut, FailureAll}, r.FailureType):
			return Errorf(InvalidRequest, "%s.failureType must be FAILED, TIMED_OUT or ALL, got %q", at, r.FailureType)
		case seen[r.FailureType]:
			return Errorf(InvalidRequest, "%s.failureType %s is given twice", at, r.FailureType)
		case r.NumberOfRetries < 0 || r.NumberOfRetries > MaxRetries:
			return Errorf(InvalidRequest, "%s.numberOfRetries must be between 0 and %d, got %d", at, MaxRetries, r.NumberOfRetries)
		}
		seen[r.FailureType] = true
		total += r.NumberOfRetries
	}
	if total > MaxRetries {
		return Errorf(InvalidRequest, "jobExecutionsRetryConfig allows %d retries in all; the limit is %d", total, MaxRetries)
	}
	return nil
}

// RolloutState is the emulator's view of a job's rollout, which AWS does
// not expose: GET /emulator/jobs/{jobId}/rollout.
type RolloutState struct {
	JobID string `json:"jobId"`
	// RatePerMinute is the rate now: executions created per emulated
	// minute; 0 when the job has no rollout configuration.
	RatePerMinute int64 `json:"ratePerMinute"`
	// Notified counts the things an execution was created for; Waiting the
	// things still to be notified.
	Notified int64 `json:"notified"`
	Waiting  int64 `json:"waiting"`
	// NextAt is when the next batch of executions is created (epoch
	// seconds), unset when nothing waits.
	NextAt EpochSeconds `json:"nextAt,omitzero"`
	// Aborted names the abort criterion that canceled the job, if one did.
	Aborted *AbortCriteria `json:"aborted,omitempty"`
	// Retried counts the executions created as retries.
	Retried int64 `json:"retried"`
}

// RouteRolloutState is the emulator's rollout view of a job.
var RouteRolloutState = Route{http.MethodGet, "/emulator/jobs/{jobId}/rollout"}

// FailureTypeOf is the failure type an execution status counts as for
// abort and retry criteria, "" when it is none.
func FailureTypeOf(status jobs.Status) string {
	switch status {
	case jobs.StatusFailed, jobs.StatusRejected, jobs.StatusTimedOut:
		return string(status)
	}
	return ""
}
