package httpapi

// The SDK stream, GET /sdk/v1/stream: Server-Sent Events for server SDKs that evaluate locally.
//
//	event: put      id: REV   data: {"project","environment","revision","flags":{flags,segments}}
//	event: patch    id: REV   data: {"revision","base","flags":[flag...],"segments":[segment...]}
//	event: delete   id: REV   data: {"revision","base","flags":["key"...],"segments":["key"...]}
//	: heartbeat                (a comment, every DeliveryOptions.Heartbeat)
//
// A client applies a patch or delete only when base equals the revision it holds, and then holds revision; any
// other base is a gap, and the client resyncs fully (reconnects; its Last-Event-ID is older than the server's
// revision, so it gets a put). A change that both upserts and removes sends a patch (base = the old revision)
// and then a delete (base = revision), and only the last of them carries the SSE id, so a client cut off in
// between resumes from the old revision.
//
// Each connection has its own broker subscription and remembers the snapshot it last delivered; on an event it
// diffs that against the current snapshot, so events that arrive late or together coalesce into one patch.
// Encodings are shared: a snapshot's put frame and per-flag JSON, and the patch frames between two snapshots,
// are computed once for all connections (encCache). A subscriber the broker drops for lagging gets a fresh
// subscription and a put; a client that does not read for StreamWriteTimeout is disconnected.

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/broker"
	"github.com/ramphq/ramp/internal/control"
)

// testHookStreamEvent, when set by a test, runs before a stream handles each broker event.
var testHookStreamEvent atomic.Pointer[func()]

// sdkStream is GET /sdk/v1/stream.
func (s *Server) sdkStream(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, err := s.sdkPrincipal(ctx, r, false)
	if err != nil {
		s.writeDeliveryError(w, r, err)
		return
	}
	sub := s.ctl.Subscribe(p.Project, p.Environment)
	if sub == nil {
		s.writeError(w, r, flag.Errorf(flag.KindUnavailable, "this server does not publish changes"))
		return
	}
	defer func() { sub.Close() }()
	snap, err := s.snapshot(ctx, p) // after subscribing: a change in between is seen twice, never missed
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	st := &sseWriter{w: w, rc: http.NewResponseController(w), timeout: s.dlv.opts.StreamWriteTimeout}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	if !st.start() {
		return
	}
	sent := snap
	if last, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err != nil || last != snap.Revision {
		if !st.write(s.dlv.cache.put(snap)) {
			return
		}
	}

	tick := time.NewTicker(s.dlv.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dlv.closing:
			return
		case <-tick.C:
			// A revoked key, or a deleted environment, ends the stream within a heartbeat (plus the key
			// cache's TTL when the key was revoked through another replica).
			if _, err := s.sdkPrincipal(ctx, r, false); err != nil {
				return
			}
			if _, err := s.snapshot(ctx, p); err != nil {
				return
			}
			if !st.write(heartbeat) {
				return
			}
		case ev, ok := <-sub.C:
			if !ok {
				return
			}
			if hook := testHookStreamEvent.Load(); hook != nil {
				(*hook)()
			}
			full := false
			switch ev.Kind {
			case broker.KindLagged: // the broker dropped us: subscribe again and start over
				sub = s.ctl.Subscribe(p.Project, p.Environment)
				full = true
			case control.EventResync:
				full = true
			}
			cur, err := s.snapshot(ctx, p)
			if err != nil { // the environment is gone; the client's reconnection learns why
				return
			}
			var frames []byte
			switch {
			case full || cur.Revision < sent.Revision:
				frames = s.dlv.cache.put(cur)
			case cur.Revision > sent.Revision:
				frames = s.dlv.cache.patch(sent, cur)
			default:
				continue
			}
			if !st.write(frames) {
				return
			}
			sent = cur
		}
	}
}

var heartbeat = []byte(": heartbeat\n\n")

// sseWriter writes frames to one stream, each under its own write deadline, so neither the server's
// WriteTimeout cuts a long stream nor a client that stopped reading holds its handler forever.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (st *sseWriter) start() bool {
	st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	st.w.WriteHeader(http.StatusOK)
	return st.rc.Flush() == nil
}

func (st *sseWriter) write(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if err := st.rc.SetWriteDeadline(time.Now().Add(st.timeout)); err != nil && err != http.ErrNotSupported {
		return false
	}
	if _, err := st.w.Write(b); err != nil {
		return false
	}
	return st.rc.Flush() == nil
}

// encCache shares encodings between streams: each snapshot's put frame and per-entity JSON, and the patch
// frames from one snapshot to another. It holds a bounded number of entries and starts over past it.
type encCache struct {
	mu      sync.Mutex
	sets    map[*control.Snapshot]*encodedSet
	patches map[[2]*control.Snapshot]*encodedPatch
}

const encCacheMax = 64

type encodedSet struct {
	once  sync.Once
	put   []byte            // the whole put frame
	flags map[string][]byte // compact JSON by key
	segs  map[string][]byte
	order [2][]string // flag keys, segment keys, in the set's order
}

type encodedPatch struct {
	once   sync.Once
	frames []byte
}

func (c *encCache) set(snap *control.Snapshot) *encodedSet {
	c.mu.Lock()
	if c.sets == nil || len(c.sets) >= encCacheMax {
		c.sets = map[*control.Snapshot]*encodedSet{}
	}
	e := c.sets[snap]
	if e == nil {
		e = &encodedSet{}
		c.sets[snap] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.encode(snap) })
	return e
}

func (e *encodedSet) encode(snap *control.Snapshot) {
	body, err := encodeConfig(snap)
	if err != nil { // plain data: cannot happen; an empty frame would be skipped, so say so loudly
		panic("httpapi: encoding a snapshot: " + err.Error())
	}
	e.put = frame(nil, "put", snap.Revision, true, body)
	e.flags, e.segs = map[string][]byte{}, map[string][]byte{}
	if snap.Set == nil {
		return
	}
	for _, f := range snap.Set.Flags {
		b, _ := marshalCompact(f)
		e.flags[f.Key] = b
		e.order[0] = append(e.order[0], f.Key)
	}
	for _, g := range snap.Set.Segments {
		b, _ := marshalCompact(g)
		e.segs[g.Key] = b
		e.order[1] = append(e.order[1], g.Key)
	}
}

func (c *encCache) put(snap *control.Snapshot) []byte { return c.set(snap).put }

// patch returns the frames that take a client from snapshot from to snapshot to: a patch with every flag and
// segment that is new or changed, a delete with every one that is gone, or both; nothing if nothing differs.
func (c *encCache) patch(from, to *control.Snapshot) []byte {
	k := [2]*control.Snapshot{from, to}
	c.mu.Lock()
	if c.patches == nil || len(c.patches) >= encCacheMax {
		c.patches = map[[2]*control.Snapshot]*encodedPatch{}
	}
	p := c.patches[k]
	if p == nil {
		p = &encodedPatch{}
		c.patches[k] = p
	}
	c.mu.Unlock()
	p.once.Do(func() { p.frames = diffFrames(c.set(from), c.set(to), from.Revision, to.Revision) })
	return p.frames
}

func diffFrames(old, cur *encodedSet, base, rev int64) []byte {
	var changed, removed [2][]string
	for i, m := range [2][2]map[string][]byte{{old.flags, cur.flags}, {old.segs, cur.segs}} {
		for _, k := range cur.order[i] {
			if prev, ok := m[0][k]; !ok || !bytes.Equal(prev, m[1][k]) {
				changed[i] = append(changed[i], k)
			}
		}
		for _, k := range old.order[i] {
			if _, ok := m[1][k]; !ok {
				removed[i] = append(removed[i], k)
			}
		}
	}
	hasPatch := len(changed[0])+len(changed[1]) > 0
	hasDelete := len(removed[0])+len(removed[1]) > 0
	var out []byte
	if hasPatch {
		b := patchHead(nil, rev, base)
		for i, name := range [2]string{`,"flags":[`, `],"segments":[`} {
			b = append(b, name...)
			m := cur.flags
			if i == 1 {
				m = cur.segs
			}
			for j, k := range changed[i] {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, m[k]...)
			}
		}
		b = append(b, "]}"...)
		out = frame(out, "patch", rev, !hasDelete, b)
	}
	if hasDelete {
		if hasPatch {
			base = rev
		}
		b := patchHead(nil, rev, base)
		for i, name := range [2]string{`,"flags":[`, `],"segments":[`} {
			b = append(b, name...)
			for j, k := range removed[i] {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, k)
			}
		}
		b = append(b, "]}"...)
		out = frame(out, "delete", rev, true, b)
	}
	if out == nil { // nothing differs (a change that left this environment as it was): move the id on
		b := patchHead(nil, rev, base)
		b = append(b, `,"flags":[],"segments":[]}`...)
		out = frame(out, "patch", rev, true, b)
	}
	return out
}

func patchHead(b []byte, rev, base int64) []byte {
	b = append(b, `{"revision":`...)
	b = strconv.AppendInt(b, rev, 10)
	b = append(b, `,"base":`...)
	return strconv.AppendInt(b, base, 10)
}

// frame appends one SSE event. data is one line of compact JSON.
func frame(b []byte, event string, rev int64, withID bool, data []byte) []byte {
	b = append(b, "event: "...)
	b = append(b, event...)
	if withID {
		b = append(b, "\nid: "...)
		b = strconv.AppendInt(b, rev, 10)
	}
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}
