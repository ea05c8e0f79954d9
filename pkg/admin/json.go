package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/clickstream/clickstream/pkg/subscription"
)

// apiError is the body of every error response, under the key "error".
type apiError struct {
	Status int `json:"-"`
	// Field names the request field at fault in its JSON spelling, with
	// an index for list elements (linkIds[2]). It is empty when no single
	// field is at fault.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func badRequest(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Field: field, Message: fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, field, message string) {
	writeJSON(w, status, map[string]*apiError{"error": {Field: field, Message: message}})
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeError(w, e.Status, e.Field, e.Message)
}

// fieldError converts a validation error of subscription.Webhook into an
// API error. The API takes one "secret", so the registry's "secrets" and
// "secrets[0]" become "secret".
func fieldError(err error) *apiError {
	var fe *subscription.FieldError
	if !errors.As(err, &fe) {
		return &apiError{Status: http.StatusBadRequest, Message: err.Error()}
	}
	field := fe.Field
	if strings.HasPrefix(field, "secrets") {
		field = "secret"
	}
	return badRequest(field, "%s", fe.Problem)
}

// decodeBody decodes the JSON object in r's body into dst, rejecting
// other JSON values (null included), unknown fields, trailing data and
// bodies over the size limit. With optional set, an empty body leaves dst
// as it is.
func decodeBody(r *http.Request, dst any, optional bool) *apiError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &apiError{Status: http.StatusUnsupportedMediaType, Message: fmt.Sprintf("Content-Type must be application/json, got %q", ct)}
		}
	}

	var raw json.RawMessage
	dec := json.NewDecoder(r.Body)
	err := dec.Decode(&raw)
	if errors.Is(err, io.EOF) {
		if optional {
			return nil
		}
		return badRequest("", "request body is empty; send a JSON object")
	}
	if err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("", "request body must contain exactly one JSON object")
	}

	// encoding/json decodes null into a struct as a no-op, so an object
	// is checked for before decoding into dst.
	if raw[0] != '{' {
		return badRequest("", "request body must be a JSON object, got %s", jsonValueKind(raw[0]))
	}
	fields := json.NewDecoder(bytes.NewReader(raw))
	fields.DisallowUnknownFields()
	if err := fields.Decode(dst); err != nil {
		return decodeError(err)
	}
	return nil
}

// jsonValueKind names the kind of the JSON value that starts with first.
func jsonValueKind(first byte) string {
	switch first {
	case 'n':
		return "null"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "true or false"
	}
	return "a number"
}

// decodeError names the field of a JSON decoding error where it can.
func decodeError(err error) *apiError {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit)}
	case errors.As(err, &syntax):
		return badRequest("", "request body is not valid JSON: %s at byte %d", syntax.Error(), syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "request body is not valid JSON: it ends early")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("", "request body must be a JSON object, got a JSON %s", typeErr.Value)
		}
		return badRequest(typeErr.Field, "must be %s, got a JSON %s", jsonKind(typeErr.Type.String()), typeErr.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), `json: unknown field "`); ok {
		return badRequest(strings.TrimSuffix(name, `"`), "unknown field")
	}
	return badRequest("", "request body is invalid: %s", err.Error())
}

// jsonKind describes a Go type in JSON terms for error messages.
func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array of " + strings.TrimPrefix(jsonKind(goType[2:]), "a ") + "s"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return "a " + goType
}
