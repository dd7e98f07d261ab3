package jobs

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the protocol (spec §6).
const (
	MaxThingNameLen      = 128
	MaxJobIDLen          = 64
	MaxDetailKeyLen      = 128
	MaxDetailValueLen    = 1024
	MaxStatusDetails     = 10
	MinStepTimeout       = 1
	MaxStepTimeout       = 10080
	CancelStepTimeout    = -1
	MaxPendingListed     = 10
	MaxJobDocumentBytes  = 32768
	MaxInProgressTimeout = MaxStepTimeout
	// MaxClientTokenLen is the spec's decision (the Device Shadow's
	// documented limit): an unbounded echo is a memory hazard.
	MaxClientTokenLen = 64
)

// ValidationError names the input that is wrong and why.
type ValidationError struct {
	Field  string // e.g. "thing name", "job id", "status detail key"
	Value  string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// nameChars reports whether s is made only of [a-zA-Z0-9_-], plus ':' when
// colon is true. Every other byte, '/', '+', '#' and '$' among them, is out,
// so a valid name can never add a topic level or a wildcard.
func nameChars(s string, colon bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-':
		case c == ':' && colon:
		default:
			return false
		}
	}
	return true
}

func checkName(field, s string, max int, colon bool) error {
	allowed := "letters, digits, '_' and '-'"
	if colon {
		allowed = "letters, digits, ':', '_' and '-'"
	}
	switch {
	case s == "":
		return &ValidationError{field, s, "must not be empty"}
	case len(s) > max:
		return &ValidationError{field, s, fmt.Sprintf("is %d characters long, the limit is %d", len(s), max)}
	case !nameChars(s, colon):
		return &ValidationError{field, s, "may contain only " + allowed}
	}
	return nil
}

// ValidateThingName checks 1-128 characters of [a-zA-Z0-9:_-].
func ValidateThingName(name string) error {
	return checkName("thing name", name, MaxThingNameLen, true)
}

// ValidateJobID checks 1-64 characters of [a-zA-Z0-9_-].
func ValidateJobID(id string) error {
	return checkName("job id", id, MaxJobIDLen, false)
}

// ValidateJobIDOrNext accepts a job id or NextJobID, as describe does.
func ValidateJobIDOrNext(id string) error {
	if id == NextJobID {
		return nil
	}
	if err := ValidateJobID(id); err != nil {
		ve := err.(*ValidationError)
		ve.Reason += ", or be $next"
		return ve
	}
	return nil
}

// ValidateStatusDetailKey checks 1-128 characters of [a-zA-Z0-9:_-].
func ValidateStatusDetailKey(key string) error {
	return checkName("status detail key", key, MaxDetailKeyLen, true)
}

// ValidateStatusDetailValue checks 1-1024 characters of valid UTF-8 with no
// character of Unicode category C (control, format, private use, surrogate),
// the service's pattern [^\p{C}]*+.
func ValidateStatusDetailValue(key, value string) error {
	field := "status detail value of " + key
	switch n := utf8.RuneCountInString(value); {
	case n == 0:
		return &ValidationError{field, value, "must not be empty"}
	case n > MaxDetailValueLen:
		return &ValidationError{field, value[:32] + "...", fmt.Sprintf("is %d characters long, the limit is %d", n, MaxDetailValueLen)}
	case !utf8.ValidString(value):
		return &ValidationError{field, value, "is not valid UTF-8"}
	case strings.IndexFunc(value, func(r rune) bool { return unicode.Is(unicode.C, r) }) >= 0:
		return &ValidationError{field, value, "must not contain control or format characters"}
	}
	return nil
}

// ValidateStatusDetails checks every key and value. The number of pairs is
// left to CheckStatusDetailsCount, which only the service applies.
func ValidateStatusDetails(details map[string]string) error {
	for k, v := range details {
		if err := ValidateStatusDetailKey(k); err != nil {
			return err
		}
		if err := ValidateStatusDetailValue(k, v); err != nil {
			return err
		}
	}
	return nil
}

// CheckStatusDetailsCount enforces the service's limit of 10 pairs.
func CheckStatusDetailsCount(details map[string]string) error {
	if len(details) > MaxStatusDetails {
		return &ValidationError{"statusDetails", fmt.Sprintf("%d pairs", len(details)),
			fmt.Sprintf("at most %d pairs are allowed", MaxStatusDetails)}
	}
	return nil
}

// ParseStatusDetail splits a KEY=VALUE argument at the first '=' and
// validates both halves.
func ParseStatusDetail(arg string) (key, value string, err error) {
	key, value, ok := strings.Cut(arg, "=")
	if !ok {
		return "", "", &ValidationError{"status detail", arg, "must be KEY=VALUE, e.g. --status-detail step=download"}
	}
	if err := ValidateStatusDetailKey(key); err != nil {
		return "", "", err
	}
	if err := ValidateStatusDetailValue(key, value); err != nil {
		return "", "", err
	}
	return key, value, nil
}

// ValidateStepTimeout checks 1..10080 minutes, and -1 where the step timer
// may be cancelled (UpdateJobExecution only).
func ValidateStepTimeout(minutes int64, allowCancel bool) error {
	if allowCancel && minutes == CancelStepTimeout {
		return nil
	}
	if minutes < MinStepTimeout || minutes > MaxStepTimeout {
		reason := fmt.Sprintf("must be between %d and %d minutes", MinStepTimeout, MaxStepTimeout)
		if allowCancel {
			reason += ", or -1 to cancel the step timer"
		}
		return &ValidationError{"step timeout", fmt.Sprint(minutes), reason}
	}
	return nil
}

// ValidateDeviceStatus checks a status a device may request.
func ValidateDeviceStatus(s Status) error {
	if !s.DeviceSettable() {
		return &ValidationError{"status", string(s), "must be one of " + strings.Join(Names(DeviceStatuses), ", ")}
	}
	return nil
}

// ValidateClientToken checks that a clientToken is at most
// MaxClientTokenLen characters.
func ValidateClientToken(token string) error {
	if n := utf8.RuneCountInString(token); n > MaxClientTokenLen {
		return &ValidationError{Field: "client token", Value: token, Reason: fmt.Sprintf("it is %d characters long, the limit is %d", n, MaxClientTokenLen)}
	}
	return nil
}
