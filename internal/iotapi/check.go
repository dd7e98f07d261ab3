package iotapi

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/iotjobs/iotjobs/internal/jobs"
)

// Limits of the control plane, as the AWS IoT API reference gives them.
const (
	MaxListResults    = 250
	MaxDescriptionLen = 2028
	MaxCommentLen     = 2028
	MaxReasonCodeLen  = 128
)

// The checks below return InvalidRequest ServiceErrors, whose Message
// reads well on its own: the CLI shows it as a usage error.

// CheckMaxResults checks the maxResults of a list operation.
func CheckMaxResults(n int64) error {
	if n < 1 || n > MaxListResults {
		return Errorf(InvalidRequest, "maxResults must be between 1 and %d", MaxListResults)
	}
	return nil
}

// CheckInProgressTimeout checks timeoutConfig.inProgressTimeoutInMinutes.
func CheckInProgressTimeout(minutes int64) error {
	if minutes < 1 || minutes > jobs.MaxInProgressTimeout {
		return Errorf(InvalidRequest, "inProgressTimeoutInMinutes must be between 1 and %d", jobs.MaxInProgressTimeout)
	}
	return nil
}

// CheckDocument checks a job document: at most jobs.MaxJobDocumentBytes,
// and a JSON object (space around it allowed).
func CheckDocument(doc string) error {
	var obj map[string]json.RawMessage
	switch {
	case len(doc) > jobs.MaxJobDocumentBytes:
		return Errorf(InvalidRequest, "document is %d bytes, the limit is %d", len(doc), jobs.MaxJobDocumentBytes)
	case json.Unmarshal([]byte(doc), &obj) != nil || obj == nil:
		return Errorf(InvalidRequest, "document must be a JSON object")
	}
	return nil
}

// CheckText checks the API's [^\p{C}]+ strings of at most max characters.
func CheckText(field, s string, max int) error {
	switch {
	case utf8.RuneCountInString(s) > max:
		return Errorf(InvalidRequest, "%s is longer than %d characters", field, max)
	case !utf8.ValidString(s), strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.C, r) }) >= 0:
		return Errorf(InvalidRequest, "%s must be valid UTF-8 without control or format characters", field)
	}
	return nil
}

// CheckReasonCode checks the reasonCode of CancelJob: [\p{Upper}\p{Digit}_]+.
func CheckReasonCode(code string) error {
	if len(code) > MaxReasonCodeLen {
		return Errorf(InvalidRequest, "reasonCode is longer than %d characters", MaxReasonCodeLen)
	}
	for _, r := range code {
		if !unicode.IsUpper(r) && !unicode.IsDigit(r) && r != '_' {
			return Errorf(InvalidRequest, "reasonCode may contain only upper-case letters, digits and '_'")
		}
	}
	return nil
}
