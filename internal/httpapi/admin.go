package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/store"
)

// flagView is a flag record as the API returns it, with its derived status.
type flagView struct {
	store.FlagRecord
	Status flag.Status `json:"status"`
}

func view(r store.FlagRecord, now time.Time) flagView {
	return flagView{FlagRecord: r, Status: r.Flag.Status(now)}
}

// writeFlag answers with a flag record: its version as the ETag, and its view as the body.
func writeFlag(w http.ResponseWriter, status int, rec store.FlagRecord) {
	etag(w, rec.Version)
	writeJSON(w, status, view(rec, time.Now()))
}

// flagBody is a flag in a request, with the version it edits.
type flagBody struct {
	flag.Flag
	Version int64 `json:"version,omitempty"`
}

type toggleBody struct {
	Enabled *bool `json:"enabled"`
	Version int64 `json:"version,omitempty"`
}

type targetingBody struct {
	control.Targeting
	Version int64 `json:"version,omitempty"`
}

type copyBody struct {
	To      string `json:"to"`
	Version int64  `json:"version,omitempty"`
}

type segmentBody struct {
	flag.Segment
	Version int64 `json:"version,omitempty"`
}

type projectBody struct {
	Key          string   `json:"key"`
	Name         string   `json:"name,omitempty"`
	Description  string   `json:"description,omitempty"`
	Environments []string `json:"environments,omitempty"`
}

type environmentBody struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
	From string `json:"from,omitempty"`
}

type explainBody struct {
	Flag    string       `json:"flag"`
	Context flag.Context `json:"context"`
}

type rotateBody struct {
	Grace string `json:"grace,omitempty"` // Go duration; default 24h
}

type keyView struct {
	store.APIKey
	Secret string `json:"secret,omitempty"` // only in the response that creates the key
}

const (
	projectPath = "/api/v1/projects/{project}"
	envPath     = projectPath + "/environments/{env}"
	flagPath    = envPath + "/flags/{key}"
	segmentPath = envPath + "/segments/{key}"
)

func (s *Server) adminRoutes() {
	now := func() time.Time { return time.Now() }

	s.api("GET /api/v1/projects", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		ps, err := s.ctl.Projects(r.Context(), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"projects": nonNil(ps)})
		return nil
	})
	s.api("POST /api/v1/projects", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b projectBody
		if err := decode(r, &b); err != nil {
			return err
		}
		pr, err := s.ctl.CreateProject(r.Context(), p, store.Project{Key: b.Key, Name: b.Name, Description: b.Description}, b.Environments)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, pr)
		return nil
	})
	s.api("GET "+projectPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		pr, err := s.ctl.Project(r.Context(), p, r.PathValue("project"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, pr)
		return nil
	})
	s.api("DELETE "+projectPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		if err := s.ctl.DeleteProject(r.Context(), p, r.PathValue("project")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})

	s.api("GET "+projectPath+"/environments", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		es, err := s.ctl.Environments(r.Context(), p, r.PathValue("project"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"environments": nonNil(es)})
		return nil
	})
	s.api("POST "+projectPath+"/environments", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b environmentBody
		if err := decode(r, &b); err != nil {
			return err
		}
		e, err := s.ctl.CreateEnvironment(r.Context(), p, store.Environment{Project: r.PathValue("project"), Key: b.Key, Name: b.Name}, b.From)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, e)
		return nil
	})
	s.api("GET "+envPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		e, err := s.ctl.Environment(r.Context(), p, r.PathValue("project"), r.PathValue("env"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, e)
		return nil
	})
	s.api("DELETE "+envPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		if err := s.ctl.DeleteEnvironment(r.Context(), p, r.PathValue("project"), r.PathValue("env")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})

	s.api("GET "+envPath+"/flags", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		q := r.URL.Query()
		f := control.FlagFilter{Tag: q.Get("tag"), Kind: flag.Kind(q.Get("kind")), Status: flag.Status(q.Get("status")), Text: q.Get("q")}
		if err := queryOneOf(r, "kind", "release", "experiment", "operational", "permission"); err != nil {
			return err
		}
		if err := queryOneOf(r, "status", "active", "stale", "expired"); err != nil {
			return err
		}
		var err error
		if f.Enabled, err = queryBool(r, "enabled"); err != nil {
			return err
		}
		archived, err := queryBool(r, "archived")
		if err != nil {
			return err
		}
		f.Archived = archived != nil && *archived
		recs, err := s.ctl.Flags(r.Context(), p, r.PathValue("project"), r.PathValue("env"), f)
		if err != nil {
			return err
		}
		out := make([]flagView, len(recs))
		for i, rec := range recs {
			out[i] = view(rec, now())
		}
		writeJSON(w, http.StatusOK, map[string]any{"flags": out})
		return nil
	})
	s.api("POST "+envPath+"/flags", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b flag.Flag
		if err := decode(r, &b); err != nil {
			return err
		}
		rec, err := s.ctl.CreateFlag(r.Context(), p, r.PathValue("project"), r.PathValue("env"), b)
		if err != nil {
			return err
		}
		writeFlag(w, http.StatusCreated, rec)
		return nil
	})
	s.api("GET "+flagPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		rec, err := s.ctl.Flag(r.Context(), p, r.PathValue("project"), r.PathValue("env"), r.PathValue("key"))
		if err != nil {
			return err
		}
		writeFlag(w, http.StatusOK, rec)
		return nil
	})
	s.api("PUT "+flagPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b flagBody
		if err := decode(r, &b); err != nil {
			return err
		}
		v, err := requireVersion(r, b.Version)
		if err != nil {
			return err
		}
		rec, err := s.ctl.UpdateFlag(r.Context(), p, r.PathValue("project"), r.PathValue("env"), r.PathValue("key"), b.Flag, v)
		if err != nil {
			return err
		}
		writeFlag(w, http.StatusOK, rec)
		return nil
	})
	s.api("DELETE "+flagPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		if err := s.ctl.DeleteFlag(r.Context(), p, r.PathValue("project"), r.PathValue("key")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	s.api("POST "+flagPath+"/toggle", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b toggleBody
		if err := decode(r, &b); err != nil {
			return err
		}
		if b.Enabled == nil {
			return &flag.Error{Kind: flag.KindInvalid, Message: "invalid toggle", Problems: []flag.Problem{{Path: "enabled", Message: "is required (true or false)"}}}
		}
		v, err := ifMatch(r, b.Version)
		if err != nil {
			return err
		}
		rec, err := s.ctl.Toggle(r.Context(), p, r.PathValue("project"), r.PathValue("env"), r.PathValue("key"), *b.Enabled, v)
		if err != nil {
			return err
		}
		writeFlag(w, http.StatusOK, rec)
		return nil
	})
	s.api("PUT "+flagPath+"/targeting", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b targetingBody
		if err := decode(r, &b); err != nil {
			return err
		}
		v, err := requireVersion(r, b.Version)
		if err != nil {
			return err
		}
		rec, err := s.ctl.UpdateTargeting(r.Context(), p, r.PathValue("project"), r.PathValue("env"), r.PathValue("key"), b.Targeting, v)
		if err != nil {
			return err
		}
		writeFlag(w, http.StatusOK, rec)
		return nil
	})
	for _, a := range []struct {
		path     string
		archived bool
	}{{"/archive", true}, {"/restore", false}} {
		s.api("POST "+flagPath+a.path, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
			if err := s.ctl.Archive(r.Context(), p, r.PathValue("project"), r.PathValue("key"), a.archived); err != nil {
				return err
			}
			rec, err := s.ctl.Flag(r.Context(), p, r.PathValue("project"), r.PathValue("env"), r.PathValue("key"))
			if err != nil {
				return err
			}
			writeFlag(w, http.StatusOK, rec)
			return nil
		})
	}
	s.api("POST "+flagPath+"/copy", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b copyBody
		if err := decode(r, &b); err != nil {
			return err
		}
		if b.To == "" {
			return &flag.Error{Kind: flag.KindInvalid, Message: "invalid copy", Problems: []flag.Problem{{Path: "to", Message: "is required: the destination environment"}}}
		}
		v, err := ifMatch(r, b.Version)
		if err != nil {
			return err
		}
		rec, err := s.ctl.CopyFlag(r.Context(), p, r.PathValue("project"), r.PathValue("env"), b.To, r.PathValue("key"), v)
		if err != nil {
			return err
		}
		writeFlag(w, http.StatusOK, rec)
		return nil
	})

	s.api("GET "+envPath+"/segments", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		gs, err := s.ctl.Segments(r.Context(), p, r.PathValue("project"), r.PathValue("env"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"segments": nonNil(gs)})
		return nil
	})
	s.api("POST "+envPath+"/segments", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b flag.Segment
		if err := decode(r, &b); err != nil {
			return err
		}
		rec, err := s.ctl.PutSegment(r.Context(), p, r.PathValue("project"), r.PathValue("env"), b, 0)
		if err != nil {
			return err
		}
		etag(w, rec.Version)
		writeJSON(w, http.StatusCreated, rec)
		return nil
	})
	s.api("GET "+segmentPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		rec, err := s.ctl.Segment(r.Context(), p, r.PathValue("project"), r.PathValue("env"), r.PathValue("key"))
		if err != nil {
			return err
		}
		etag(w, rec.Version)
		writeJSON(w, http.StatusOK, rec)
		return nil
	})
	s.api("PUT "+segmentPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b segmentBody
		if err := decode(r, &b); err != nil {
			return err
		}
		if b.Key == "" {
			b.Key = r.PathValue("key")
		}
		if b.Key != r.PathValue("key") {
			return &flag.Error{Kind: flag.KindInvalid, Message: "invalid segment", Problems: []flag.Problem{{Path: "key", Message: "does not match the segment being updated; keys cannot change"}}}
		}
		v, err := requireVersion(r, b.Version)
		if err != nil {
			return err
		}
		rec, err := s.ctl.PutSegment(r.Context(), p, r.PathValue("project"), r.PathValue("env"), b.Segment, v)
		if err != nil {
			return err
		}
		etag(w, rec.Version)
		writeJSON(w, http.StatusOK, rec)
		return nil
	})
	s.api("DELETE "+segmentPath, func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		v, err := ifMatch(r, 0)
		if err != nil {
			return err
		}
		if err := s.ctl.DeleteSegment(r.Context(), p, r.PathValue("project"), r.PathValue("env"), r.PathValue("key"), v); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})

	s.api("POST "+envPath+"/explain", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b explainBody
		if err := decode(r, &b); err != nil {
			return err
		}
		if b.Flag == "" {
			return &flag.Error{Kind: flag.KindInvalid, Message: "invalid explain request", Problems: []flag.Problem{{Path: "flag", Message: "is required"}}}
		}
		ex, rev, err := s.ctl.Explain(r.Context(), p, r.PathValue("project"), r.PathValue("env"), b.Flag, b.Context)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"flag": b.Flag, "revision": rev, "detail": ex.Detail, "steps": ex.Steps})
		return nil
	})
	s.api("POST "+envPath+"/import", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		set, err := decodeSet(data, r.URL.Query().Get("format"))
		if err != nil {
			return err
		}
		res, err := s.ctl.Import(r.Context(), p, r.PathValue("project"), r.PathValue("env"), set)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	})
	s.api("GET "+envPath+"/export", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		set, err := s.ctl.Export(r.Context(), p, r.PathValue("project"), r.PathValue("env"))
		if err != nil {
			return err
		}
		out, ctype, err := encodeSet(set, r.URL.Query().Get("format"))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", ctype)
		w.Write(out)
		return nil
	})

	s.api("GET /api/v1/audit", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		q := r.URL.Query()
		f := store.AuditFilter{Project: q.Get("project"), Environment: q.Get("environment"), Resource: q.Get("resource"), Key: q.Get("key")}
		if err := queryOneOf(r, "resource", "project", "environment", "flag", "segment", "key"); err != nil {
			return err
		}
		var err error
		if f.Since, err = queryTime(r, "since"); err != nil {
			return err
		}
		if f.Until, err = queryTime(r, "until"); err != nil {
			return err
		}
		if f.BeforeID, err = queryInt(r, "before"); err != nil {
			return err
		}
		limit, err := queryInt(r, "limit")
		if err != nil {
			return err
		}
		f.Limit = int(limit)
		es, err := s.ctl.Audit(r.Context(), p, f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"entries": nonNil(es)})
		return nil
	})

	s.api("GET /api/v1/keys", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		ks, err := s.ctl.ListKeys(r.Context(), p, r.URL.Query().Get("project"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"keys": nonNil(ks)})
		return nil
	})
	s.api("POST /api/v1/keys", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b control.NewKey
		if err := decode(r, &b); err != nil {
			return err
		}
		k, secret, err := s.ctl.CreateKey(r.Context(), p, b)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, keyView{APIKey: k, Secret: secret})
		return nil
	})
	s.api("POST /api/v1/keys/{id}/revoke", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		k, err := s.ctl.RevokeKey(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, k)
		return nil
	})
	s.api("POST /api/v1/keys/{id}/rotate", func(w http.ResponseWriter, r *http.Request, p control.Principal) error {
		var b rotateBody
		if r.ContentLength != 0 {
			if err := decode(r, &b); err != nil {
				return err
			}
		}
		grace := 24 * time.Hour
		if b.Grace != "" {
			d, err := time.ParseDuration(b.Grace)
			if err != nil || d < 0 {
				return &flag.Error{Kind: flag.KindInvalid, Message: "invalid rotation", Problems: []flag.Problem{{Path: "grace", Message: "must be a duration such as 24h or 0s"}}}
			}
			grace = d
		}
		k, secret, err := s.ctl.RotateKey(r.Context(), p, r.PathValue("id"), grace)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, keyView{APIKey: k, Secret: secret})
		return nil
	})
}

// requireVersion insists on a version for updates: nothing is overwritten without naming what it replaces.
func requireVersion(r *http.Request, body int64) (int64, error) {
	v, err := ifMatch(r, body)
	if err != nil {
		return 0, err
	}
	if v < 1 {
		return 0, &flag.Error{Kind: flag.KindInvalid, Message: "the version being edited is required", Problems: []flag.Problem{{Path: "version",
			Message: "send the version you read, in the If-Match header or a version field, so a concurrent edit is never overwritten"}}}
	}
	return v, nil
}

// queryOneOf checks that the query parameter name, when given, is one of values: a misspelt filter is an error,
// not an empty list.
func queryOneOf(r *http.Request, name string, values ...string) error {
	v := r.URL.Query().Get(name)
	if v == "" || slices.Contains(values, v) {
		return nil
	}
	list := strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
	return &flag.Error{Kind: flag.KindInvalid, Message: "invalid query", Problems: []flag.Problem{{Path: name, Message: fmt.Sprintf("%q is not %s", v, list)}}}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
