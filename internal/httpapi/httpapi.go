// Package httpapi is ramp's HTTP surface: the admin REST API under /api/v1, health endpoints, flag delivery
// (OFREP, the full configuration and the SDK stream; delivery.go), and (in later issues) event ingest and
// metrics. Handlers decode strictly, call the control plane, and map its errors to status codes in exactly one
// function, statusOf (writeError's bodies for the admin API, ofrepFail's for OFREP).
//
// It imports the flag model and the control plane; never a concrete store.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/control"
)

// DefaultMaxBody caps request bodies unless Options says otherwise.
const DefaultMaxBody = 1 << 20

// Options configures a Server.
type Options struct {
	Control  *control.Service
	Logger   *slog.Logger
	MaxBody  int64        // request body cap in bytes; 0 means DefaultMaxBody
	Ready    func() error // readiness probe (the store answers); nil means always ready
	Version  string
	Delivery DeliveryOptions // OFREP and the SDK endpoints (delivery.go)
}

// Server is the HTTP handler.
type Server struct {
	ctl     *control.Service
	log     *slog.Logger
	maxBody int64
	ready   func() error
	version string
	mux     *http.ServeMux
	routes  []string // "METHOD /path" of every API route, for the OpenAPI coverage test
	dlv     *delivery
}

// New returns a Server with every route registered.
func New(o Options) *Server {
	s := &Server{ctl: o.Control, log: o.Logger, maxBody: o.MaxBody, ready: o.Ready, version: o.Version, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.version})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.ready != nil {
			if err := s.ready(); err != nil {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	s.mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(OpenAPI)
	})
	s.adminRoutes()
	s.deliveryRoutes(o.Delivery)
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	}
	s.mux.ServeHTTP(w, r)
}

// Routes returns the API routes as "METHOD /pattern".
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// handlerFunc is an API handler: it returns an error instead of writing one.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p control.Principal) error

// api registers an authenticated route.
func (s *Server) api(pattern string, h handlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.ctl.Authenticate(r.Context(), credential(r))
		if err == nil {
			err = h(w, r, p)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// credential returns the presented key: "Authorization: Bearer KEY" or "X-API-Key: KEY".
func credential(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if k, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(k)
		}
		return ""
	}
	return r.Header.Get("X-API-Key")
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error struct {
		Code     string         `json:"code"`
		Message  string         `json:"message"`
		Problems []flag.Problem `json:"problems,omitempty"`
	} `json:"error"`
}

// statusOf maps domain error kinds to HTTP status codes. It is the only place that does.
func statusOf(k flag.ErrorKind) int {
	switch k {
	case flag.KindInvalid:
		return http.StatusBadRequest
	case flag.KindNotFound:
		return http.StatusNotFound
	case flag.KindConflict:
		return http.StatusConflict
	case flag.KindUnauthorized:
		return http.StatusUnauthorized
	case flag.KindForbidden:
		return http.StatusForbidden
	case flag.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = &flag.Error{Kind: flag.KindInvalid, Message: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}
		var b errorBody
		b.Error.Code, b.Error.Message = "too_large", err.Error()
		writeJSON(w, http.StatusRequestEntityTooLarge, b)
		return
	}
	kind := flag.KindOf(err)
	status := statusOf(kind)
	var b errorBody
	b.Error.Code = string(kind)
	if status == http.StatusInternalServerError {
		s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		b.Error.Code, b.Error.Message = string(flag.KindInternal), "internal error"
	} else {
		var fe *flag.Error
		if errors.As(err, &fe) {
			b.Error.Message, b.Error.Problems = fe.Message, fe.Problems
		} else {
			b.Error.Message = err.Error()
		}
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ramp"`)
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	writeJSON(w, status, b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// decode reads a JSON body strictly: unknown fields, trailing data and an empty body are errors naming where.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return &flag.Error{Kind: flag.KindInvalid, Message: "request body is empty; a JSON object is required"}
		}
		var typ *json.UnmarshalTypeError
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &typ):
			return &flag.Error{Kind: flag.KindInvalid, Message: "invalid JSON body", Problems: []flag.Problem{{Path: typ.Field, Message: fmt.Sprintf("expected %s, got JSON %s", typ.Type, typ.Value)}}}
		case errors.As(err, &syn):
			return &flag.Error{Kind: flag.KindInvalid, Message: "invalid JSON body", Problems: []flag.Problem{{Path: fmt.Sprintf("offset %d", syn.Offset), Message: syn.Error()}}}
		}
		return &flag.Error{Kind: flag.KindInvalid, Message: "invalid JSON body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if dec.More() {
		return &flag.Error{Kind: flag.KindInvalid, Message: "invalid JSON body: unexpected data after the JSON object"}
	}
	return nil
}

// ifMatch returns the version a request edits: the If-Match header ("3" or the ETag "\"3\"") wins over the
// body's version field.
func ifMatch(r *http.Request, body int64) (int64, error) {
	h := strings.Trim(strings.TrimPrefix(r.Header.Get("If-Match"), "W/"), `"`)
	if h == "" {
		return body, nil
	}
	v, err := strconv.ParseInt(h, 10, 64)
	if err != nil || v < 1 {
		return 0, &flag.Error{Kind: flag.KindInvalid, Message: "invalid If-Match header", Problems: []flag.Problem{{Path: "If-Match", Message: fmt.Sprintf("%q is not a version number", h)}}}
	}
	return v, nil
}

func etag(w http.ResponseWriter, version int64) {
	w.Header().Set("ETag", `"`+strconv.FormatInt(version, 10)+`"`)
}

func queryBool(r *http.Request, name string) (*bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, &flag.Error{Kind: flag.KindInvalid, Message: "invalid query", Problems: []flag.Problem{{Path: name, Message: fmt.Sprintf("%q is not true or false", v)}}}
	}
	return &b, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, &flag.Error{Kind: flag.KindInvalid, Message: "invalid query", Problems: []flag.Problem{{Path: name, Message: fmt.Sprintf("%q is not an RFC 3339 time", v)}}}
	}
	return t, nil
}

func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &flag.Error{Kind: flag.KindInvalid, Message: "invalid query", Problems: []flag.Problem{{Path: name, Message: fmt.Sprintf("%q is not a non-negative integer", v)}}}
	}
	return n, nil
}
