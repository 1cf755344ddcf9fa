package httpapi

// OFREP v0.3.0, the OpenFeature Remote Evaluation Protocol (github.com/open-feature/protocol, service/openapi.yaml):
//
//	POST /ofrep/v1/evaluate/flags/{key}   one flag  → 200 evaluationSuccess | 400 | 404 evaluationFailure
//	POST /ofrep/v1/evaluate/flags         all flags → 200 {flags, metadata} with an ETag | 304 | 400
//
// The single-flag endpoint is the hot path (the target is 80,000 requests/s on two cores), so it is written to
// do little: the key is resolved from an in-memory cache (control.AuthenticateCached), the body is read into a
// pooled buffer and decoded once (a flat context by a one-pass scanner, anything else by encoding/json;
// ofrep_decode.go) into the map flag.NewContext sorts; the evaluation walks the
// environment's compiled snapshot without allocating; and the response is appended by hand to the same pooled
// buffer (ofrep_json.go). Errors, which are rare, take the ordinary path.
//
// Leniency follows flagd's OFREP server, the reference: an empty body, a null body, a missing or null context
// and a missing targetingKey are all evaluated as an empty context or a context without a key, and unknown
// top-level fields are ignored. Malformed JSON is 400 PARSE_ERROR; a context that is not an object, or a
// targetingKey that is not a string, is 400 INVALID_CONTEXT. TARGETING_KEY_MISSING is returned only when
// DeliveryOptions.RequireTargetingKey is set.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/control"
)

// The OFREP request error codes (evaluationFailure.errorCode) that are not evaluation results.
const (
	codeParseError          = "PARSE_ERROR"
	codeInvalidContext      = "INVALID_CONTEXT"
	codeTargetingKeyMissing = "TARGETING_KEY_MISSING"
	codeGeneral             = "GENERAL"
)

// ofrepError is a request OFREP refuses with 400 and an errorCode. It unwraps to a KindInvalid domain error.
type ofrepError struct {
	code string
	err  *flag.Error
}

func (e *ofrepError) Error() string { return e.err.Error() }
func (e *ofrepError) Unwrap() error { return e.err }

func badRequest(code, msg string) error {
	return &ofrepError{code: code, err: &flag.Error{Kind: flag.KindInvalid, Message: msg}}
}

// ofrepRequest is the body of both endpoints: {"context": {...}}.
type ofrepRequest struct {
	Context map[string]any `json:"context"`
}

// decodeOFREP decodes a request body into an evaluation context. See the leniency rules at the top of the file.
// sc, when not nil, lends the decoder reusable memory (see scratch).
func decodeOFREP(body []byte, requireKey bool, sc *scratch) (flag.Context, error) {
	if sc != nil && sc.attrs != nil {
		defer clear(sc.attrs) // the context keeps its own copy of the attributes
	}
	m, ok := fastContext(body, sc)
	if !ok {
		if sc != nil && sc.attrs != nil {
			clear(sc.attrs) // whatever the fast path collected before it gave up
		}
		var err error
		if m, err = slowContext(body); err != nil {
			return flag.Context{}, err
		}
	}
	tk := ""
	if v, ok := m[flag.TargetingKeyAttribute]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return flag.Context{}, badRequest(codeInvalidContext, "targetingKey must be a string")
		}
		tk = s
	}
	if requireKey && tk == "" {
		return flag.Context{}, badRequest(codeTargetingKeyMissing, "the context has no targetingKey")
	}
	return flag.NewContext(tk, m), nil
}

// slowContext decodes a body fastContext declined, with encoding/json.
func slowContext(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var req ofrepRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return nil, badRequest(codeInvalidContext, "context must be a JSON object, got JSON "+typ.Value)
		}
		if typ != nil {
			return nil, badRequest(codeParseError, "the request body must be a JSON object, got JSON "+typ.Value)
		}
		return nil, badRequest(codeParseError, "the request body is not valid JSON: "+err.Error())
	}
	return req.Context, nil
}

// ofrepBuf is a pooled request and response buffer.
type ofrepBuf struct {
	in  bytes.Buffer
	out []byte
	sc  scratch
}

var ofrepBufs = sync.Pool{New: func() any {
	return &ofrepBuf{out: make([]byte, 0, 512), sc: scratch{names: map[string]string{}, attrs: make(map[string]any, 8)}}
}}

func getBuf() *ofrepBuf { return ofrepBufs.Get().(*ofrepBuf) }

func putBuf(b *ofrepBuf) {
	if b.in.Cap() > 64<<10 || cap(b.out) > 64<<10 || len(b.sc.names) > maxNames { // let the odd huge request go
		return
	}
	b.in.Reset()
	b.out = b.out[:0]
	ofrepBufs.Put(b)
}

// jsonContentType is shared by every response: assigning it to the header map costs no allocation.
var jsonContentType = []string{"application/json"}

// ofrepPrepare authenticates, rate-limits, reads and decodes an OFREP request, and returns the key's snapshot.
func (s *Server) ofrepPrepare(r *http.Request, buf *ofrepBuf) (*control.Snapshot, flag.Context, control.Principal, error) {
	ctx := r.Context()
	p, err := s.sdkPrincipal(ctx, r, true)
	if err != nil {
		return nil, flag.Context{}, p, err
	}
	if ok, retry := s.dlv.limiter.allow(p.KeyID); !ok {
		return nil, flag.Context{}, p, &rateLimited{retry: retry}
	}
	if err := readBody(r, &buf.in); err != nil {
		return nil, flag.Context{}, p, err
	}
	fctx, err := decodeOFREP(buf.in.Bytes(), s.dlv.opts.RequireTargetingKey, &buf.sc)
	if err != nil {
		return nil, flag.Context{}, p, err
	}
	snap, err := s.snapshot(ctx, p)
	return snap, fctx, p, err
}

// readBody reads the request body into b: exactly Content-Length bytes when the client sent one (one read
// instead of reading on to EOF), else to EOF. net/http caps the body at Content-Length either way.
func readBody(r *http.Request, b *bytes.Buffer) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	if n := r.ContentLength; n > 0 && n <= 64<<10 {
		b.Grow(int(n))
		_, err := io.ReadFull(r.Body, b.AvailableBuffer()[:n])
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return badRequest(codeParseError, "the request body is shorter than its Content-Length")
		}
		if err != nil {
			return err
		}
		b.Write(b.AvailableBuffer()[:n]) // the bytes are in place: this only moves the length on
		return nil
	}
	_, err := b.ReadFrom(r.Body)
	return err
}

// ofrepEvaluate is POST /ofrep/v1/evaluate/flags/{key}.
func (s *Server) ofrepEvaluate(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	buf := getBuf()
	defer putBuf(buf)
	snap, fctx, _, err := s.ofrepPrepare(r, buf)
	if err != nil {
		s.ofrepFail(w, r, key, true, err)
		return
	}
	d := snap.Eval.Evaluate(key, &fctx)
	status := http.StatusOK
	switch {
	case d.ErrorCode == flag.ErrorFlagNotFound:
		status = http.StatusNotFound
		buf.out = appendFailure(buf.out, key, string(d.ErrorCode), "flag "+strconv.Quote(key)+" was not found")
	case d.IsError(): // INVALID_CONTEXT (a bucketing attribute of the wrong type) or GENERAL
		status = http.StatusBadRequest
		buf.out = appendFailure(buf.out, key, string(d.ErrorCode), d.ErrorMessage)
	default:
		buf.out = appendSuccess(buf.out, key, &d)
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(buf.out)
}

// appendSuccess appends an evaluationSuccess. A result without a variant (an empty fallthrough) has no value:
// it is OFREP's codeDefaultFlag, telling the provider to use the application's default.
func appendSuccess(b []byte, key string, d *flag.Detail) []byte {
	b = append(b, `{"key":`...)
	b = appendString(b, key)
	if d.Variant != "" || d.Value != nil {
		b = append(b, `,"value":`...)
		b = appendValue(b, d.Value)
	}
	b = append(b, `,"reason":`...)
	b = appendString(b, string(d.Reason))
	if d.Variant != "" {
		b = append(b, `,"variant":`...)
		b = appendString(b, d.Variant)
	}
	b = append(b, `,"metadata":{`...)
	sep := false
	if d.RuleID != "" {
		b = append(b, `"ruleId":`...)
		b = appendString(b, d.RuleID)
		sep = true
	}
	if d.PrerequisiteKey != "" {
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"prerequisiteKey":`...)
		b = appendString(b, d.PrerequisiteKey)
	}
	return append(b, "}}"...)
}

// appendFailure appends an evaluationFailure (or flagNotFound); key "" leaves the key out (bulk failures).
func appendFailure(b []byte, key, code, details string) []byte {
	b = append(b, '{')
	if key != "" {
		b = append(b, `"key":`...)
		b = appendString(b, key)
		b = append(b, ',')
	}
	b = append(b, `"errorCode":`...)
	b = appendString(b, code)
	b = append(b, `,"errorDetails":`...)
	b = appendString(b, details)
	return append(b, '}')
}

// appendDetails appends {"errorDetails": msg}, OFREP's generalErrorResponse.
func appendDetails(b []byte, msg string) []byte {
	b = append(b, `{"errorDetails":`...)
	b = appendString(b, msg)
	return append(b, '}')
}

// ofrepBulk is POST /ofrep/v1/evaluate/flags: every flag of the environment for one context.
func (s *Server) ofrepBulk(w http.ResponseWriter, r *http.Request) {
	buf := getBuf()
	defer putBuf(buf)
	snap, fctx, p, err := s.ofrepPrepare(r, buf)
	if err != nil {
		s.ofrepFail(w, r, "", false, err)
		return
	}
	tag := bulkETag(p, snap.Revision, &fctx)
	h := w.Header()
	h.Set("ETag", tag)
	if etagMatch(r.Header.Get("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	b := append(buf.out, `{"flags":[`...)
	for i := range snap.Set.Flags {
		if i > 0 {
			b = append(b, ',')
		}
		key := snap.Set.Flags[i].Key
		d := snap.Eval.Evaluate(key, &fctx)
		if d.IsError() {
			b = appendFailure(b, key, string(d.ErrorCode), d.ErrorMessage)
		} else {
			b = appendSuccess(b, key, &d)
		}
	}
	b = append(b, `],"metadata":{"project":`...)
	b = appendString(b, snap.Project)
	b = append(b, `,"environment":`...)
	b = appendString(b, snap.Environment)
	b = append(b, `,"revision":`...)
	b = strconv.AppendInt(b, snap.Revision, 10)
	b = append(b, "}}"...)
	buf.out = b
	h["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// bulkETag identifies a bulk result: the environment's revision and a hash of the key's environment and the
// context (its canonical JSON: attributes sorted by name), so the same context at the same revision gets the
// same tag whatever the order of its attributes.
func bulkETag(p control.Principal, rev int64, c *flag.Context) string {
	h := sha256.New()
	h.Write([]byte(p.Project))
	h.Write([]byte{0})
	h.Write([]byte(p.Environment))
	h.Write([]byte{0})
	if js, err := c.MarshalJSON(); err == nil {
		h.Write(js)
	}
	var sum [sha256.Size]byte
	return `"` + strconv.FormatInt(rev, 10) + "-" + hex.EncodeToString(h.Sum(sum[:0])[:8]) + `"`
}

// ofrepFail writes an OFREP error. The status comes from statusOf, the one mapping of domain errors to HTTP;
// the body is OFREP's: evaluationFailure ({key, errorCode, errorDetails}) for a refused request, and
// generalErrorResponse ({errorDetails}) for 401, 403, 413, 429 and 500. withKey is false for bulk requests.
func (s *Server) ofrepFail(w http.ResponseWriter, r *http.Request, key string, withKey bool, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	if !withKey {
		key = ""
	}
	var body []byte
	var status int
	var oe *ofrepError
	var rl *rateLimited
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &rl):
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", strconv.Itoa(rl.retry))
		body = appendDetails(nil, rl.Error())
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
		body = appendDetails(nil, "request body larger than "+strconv.FormatInt(mbe.Limit, 10)+" bytes")
	case errors.As(err, &oe):
		status = http.StatusBadRequest
		body = appendFailure(nil, key, oe.code, oe.err.Message)
	default:
		status = statusOf(flag.KindOf(err))
		msg := err.Error()
		var fe *flag.Error
		if errors.As(err, &fe) {
			msg = fe.Message
		}
		switch status {
		case http.StatusInternalServerError:
			s.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
			body = appendDetails(nil, "internal error")
		case http.StatusBadRequest:
			body = appendFailure(nil, key, codeGeneral, msg)
		default:
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ramp"`)
			}
			body = appendDetails(nil, msg)
		}
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	w.Write(body)
}
