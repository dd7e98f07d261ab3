package iotapi

import (
	"encoding/json"
	"errors"
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
	if len(doc) > jobs.MaxJobDocumentBytes {
		return Errorf(InvalidRequest, "document is %d bytes, the limit is %d", len(doc), jobs.MaxJobDocumentBytes)
	}
	var obj map[string]json.RawMessage
	err := json.Unmarshal([]byte(doc), &obj)
	var syntax *json.SyntaxError
	switch {
	case errors.As(err, &syntax):
		line, col := position(doc, syntax.Offset-1) // Offset counts the bad byte
		return Errorf(InvalidRequest, "document is not JSON: %v, at line %d, column %d", err, line, col)
	case err != nil || obj == nil:
		return Errorf(InvalidRequest, "document must be a JSON object, e.g. {\"operation\":\"reboot\"}")
	}
	return nil
}

// position is the line and column (from 1) of byte offset in s.
func position(s string, offset int64) (line, col int) {
	before := s[:max(0, min(int(offset), len(s)))]
	line = strings.Count(before, "\n") + 1
	return line, len(before) - strings.LastIndex(before, "\n")
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
