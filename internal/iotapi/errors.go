package iotapi

import (
	"fmt"
	"net/http"
	"strings"
)

// ErrorKind names a control-plane failure the way AWS IoT names its
// exceptions, without the suffix: ResourceNotFound is
// ResourceNotFoundException.
type ErrorKind string

// The error kinds. InternalFailure is a storage failure; UnknownOperation
// is a path that no operation has, MethodNotAllowed a path whose operations
// take other methods; Forbidden is a request the emulator will not serve.
const (
	ResourceNotFound       ErrorKind = "ResourceNotFound"
	InvalidRequest         ErrorKind = "InvalidRequest"
	ResourceAlreadyExists  ErrorKind = "ResourceAlreadyExists"
	InvalidStateTransition ErrorKind = "InvalidStateTransition"
	VersionConflict        ErrorKind = "VersionConflict"
	InternalFailure        ErrorKind = "InternalFailure"
	UnknownOperation       ErrorKind = "UnknownOperation"
	MethodNotAllowed       ErrorKind = "MethodNotAllowed"
	Forbidden              ErrorKind = "Forbidden"
)

// Exception is the AWS exception name of the kind, as the X-Amzn-ErrorType
// header carries it.
func (k ErrorKind) Exception() string { return string(k) + "Exception" }

// HTTPStatus is the status code the API model gives the kind's exception.
func (k ErrorKind) HTTPStatus() int {
	switch k {
	case InvalidRequest:
		return http.StatusBadRequest
	case ResourceNotFound, UnknownOperation:
		return http.StatusNotFound
	case ResourceAlreadyExists, VersionConflict, InvalidStateTransition:
		return http.StatusConflict
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case Forbidden:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// ExceptionName reads the exception name out of an X-Amzn-ErrorType header,
// which may carry a ":..." suffix.
func ExceptionName(header string) string {
	name, _, _ := strings.Cut(header, ":")
	return name
}

// ServiceError is the error of every control-plane operation.
type ServiceError struct {
	Kind    ErrorKind
	Message string
}

func (e *ServiceError) Error() string { return string(e.Kind) + ": " + e.Message }

// Errorf builds a ServiceError of kind.
func Errorf(kind ErrorKind, format string, args ...any) *ServiceError {
	return &ServiceError{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// ErrorBody is the body of an error answer: {"message":"..."}.
type ErrorBody struct {
	Message string `json:"message"`
}
