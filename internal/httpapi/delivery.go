package httpapi

// Delivery: how applications get flags. Three surfaces share one authentication path (AuthenticateCached,
// server or client keys, the key's environment selects the snapshot):
//
//   - OFREP (ofrep.go): remote evaluation, server and client keys;
//   - GET /sdk/v1/flags: the environment's whole flag set for server SDKs that evaluate locally;
//   - GET /sdk/v1/stream (stream.go): the same set as a Server-Sent Events stream of put, patch and delete.
//
// docs/delivery.md is the user-facing description.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/store"
)

// DeliveryOptions configures OFREP and the SDK endpoints. The zero value is the production default.
type DeliveryOptions struct {
	// RateLimit is the sustained number of requests per second each key may make to OFREP and GET
	// /sdk/v1/flags; 0 means unlimited. A key over it gets 429 with Retry-After.
	RateLimit float64
	// RateBurst is how many requests a key may make at once above RateLimit; 0 means max(1, RateLimit).
	RateBurst int
	// RequireTargetingKey makes OFREP answer 400 TARGETING_KEY_MISSING to a context without a targetingKey.
	// The default is lenient, like flagd: such a context is evaluated, and a split that needs the key serves
	// the flag's off variation with reason BUCKETING_KEY_MISSING.
	RequireTargetingKey bool
	// Heartbeat is the interval of the stream's keep-alive comments; 0 means DefaultHeartbeat.
	Heartbeat time.Duration
	// StreamWriteTimeout bounds each write to a stream: a client that does not read for that long is
	// disconnected (and reconnects); 0 means DefaultStreamWriteTimeout.
	StreamWriteTimeout time.Duration
}

// The stream's defaults.
const (
	DefaultHeartbeat          = 15 * time.Second
	DefaultStreamWriteTimeout = 10 * time.Second
)

// delivery holds the state of the delivery endpoints.
type delivery struct {
	opts    DeliveryOptions
	limiter *limiter // nil: unlimited
	cache   encCache // the stream's shared encodings

	mu      sync.Mutex
	closing chan struct{} // closed by CloseStreams
}

func (s *Server) deliveryRoutes(o DeliveryOptions) {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.StreamWriteTimeout <= 0 {
		o.StreamWriteTimeout = DefaultStreamWriteTimeout
	}
	d := &delivery{opts: o, closing: make(chan struct{})}
	if o.RateLimit > 0 {
		d.limiter = newLimiter(o.RateLimit, o.RateBurst)
	}
	s.dlv = d

	s.mux.HandleFunc("POST /ofrep/v1/evaluate/flags/{key}", s.ofrepEvaluate)
	s.mux.HandleFunc("POST /ofrep/v1/evaluate/flags", s.ofrepBulk)
	s.mux.HandleFunc("GET /sdk/v1/flags", s.sdkFlags)
	s.mux.HandleFunc("GET /sdk/v1/stream", s.sdkStream)

	s.api("POST "+envPath+"/resync", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		rev, err := s.ctl.Resync(r.Context(), p, r.PathValue("project"), r.PathValue("env"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"project": r.PathValue("project"), "environment": r.PathValue("env"), "revision": rev})
		return nil
	})
}

// CloseStreams ends every open SDK stream (clients reconnect, to another replica if there is one). Call it when
// the server shuts down: http.Server.Shutdown waits for handlers, and a stream's handler runs until its client
// leaves. It is safe to call more than once.
func (s *Server) CloseStreams() {
	s.dlv.mu.Lock()
	defer s.dlv.mu.Unlock()
	select {
	case <-s.dlv.closing:
	default:
		close(s.dlv.closing)
	}
}

// sdkPrincipal authenticates a delivery request: server or client keys (clients only when client is true).
// An admin token is KindForbidden: it administers flags, it does not receive them.
func (s *Server) sdkPrincipal(ctx context.Context, r *http.Request, client bool) (control.Principal, error) {
	p, err := s.ctl.AuthenticateCached(ctx, credential(r))
	if err != nil {
		return p, err
	}
	switch p.Kind {
	case store.KeyServer:
		return p, nil
	case store.KeyClient:
		if client {
			return p, nil
		}
		return p, flag.Errorf(flag.KindForbidden, "client keys receive evaluated values only (OFREP); this endpoint needs a server key")
	}
	return p, flag.Errorf(flag.KindForbidden, "%s keys cannot receive flags; use a server or client key", p.Kind)
}

// snapshot returns the key's environment. An environment deleted under a cached key is the key's problem
// (the key went with it), not a missing flag.
func (s *Server) snapshot(ctx context.Context, p control.Principal) (*control.Snapshot, error) {
	snap, err := s.ctl.Snapshot(ctx, p.Project, p.Environment)
	if flag.KindOf(err) == flag.KindNotFound {
		return nil, flag.Errorf(flag.KindUnauthorized, "the environment of key %s no longer exists", p.KeyID)
	}
	return snap, err
}

// sdkFlags is GET /sdk/v1/flags: the environment's whole flag set, with the revision as its ETag.
func (s *Server) sdkFlags(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		p, err := s.sdkPrincipal(r.Context(), r, false)
		if err != nil {
			return err
		}
		if ok, retry := s.dlv.limiter.allow(p.KeyID); !ok {
			return &rateLimited{retry: retry}
		}
		snap, err := s.snapshot(r.Context(), p)
		if err != nil {
			return err
		}
		tag := revisionETag(snap.Revision)
		w.Header().Set("ETag", tag)
		w.Header().Set("Cache-Control", "no-cache")
		if etagMatch(r.Header.Get("If-None-Match"), tag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		body, err := encodeConfig(snap)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
		return nil
	}()
	if err != nil {
		s.writeDeliveryError(w, r, err)
	}
}

// writeDeliveryError writes the errors of the SDK endpoints: writeError's body and status, plus 429.
func (s *Server) writeDeliveryError(w http.ResponseWriter, r *http.Request, err error) {
	if rl, ok := err.(*rateLimited); ok {
		w.Header().Set("Retry-After", strconv.Itoa(rl.retry))
		var b errorBody
		b.Error.Code, b.Error.Message = "rate_limited", rl.Error()
		writeJSON(w, http.StatusTooManyRequests, b)
		return
	}
	s.writeError(w, r, err)
}

// configBody is the full configuration of GET /sdk/v1/flags and of the stream's put event.
type configBody struct {
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	Revision    int64     `json:"revision"`
	Flags       *flag.Set `json:"flags"`
}

func encodeConfig(snap *control.Snapshot) ([]byte, error) {
	set := snap.Set
	if set == nil {
		set = &flag.Set{}
	}
	if set.Flags == nil { // canonical: "flags": [] rather than null
		set = &flag.Set{Flags: []flag.Flag{}, Segments: set.Segments}
	}
	return marshalCompact(configBody{Project: snap.Project, Environment: snap.Environment, Revision: snap.Revision, Flags: set})
}

func revisionETag(rev int64) string { return `"` + strconv.FormatInt(rev, 10) + `"` }

// etagMatch reports whether an If-None-Match header names tag: "*", a list, weak or strong.
func etagMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == tag {
			return true
		}
	}
	return false
}
