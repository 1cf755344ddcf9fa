package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzAdminBodies sends arbitrary bodies to the endpoints that decode outside input. Whatever arrives, the
// answer is a 2xx or a 4xx with the documented error body: never a 500, never a panic.
func FuzzAdminBodies(f *testing.F) {
	routes := []struct{ method, path string }{
		{"POST", flagsPath},
		{"PUT", flagsPath + "/seed"},
		{"PUT", flagsPath + "/seed/targeting"},
		{"POST", flagsPath + "/seed/toggle"},
		{"POST", flagsPath + "/seed/copy"},
		{"POST", envPath("default", "production") + "/segments"},
		{"POST", envPath("default", "production") + "/explain"},
		{"POST", envPath("default", "production") + "/import"},
		{"POST", envPath("default", "production") + "/import?format=flagd"},
		{"POST", "/api/v1/keys"},
		{"POST", "/api/v1/projects"},
		{"POST", "/api/v1/projects/default/environments"},
	}
	seed, _ := json.Marshal(boolFlag("seed"))
	for i := range routes {
		f.Add(uint8(i), seed)
	}
	f.Add(uint8(2), []byte(`{"version":1,"enabled":true,"offVariation":"off","fallthrough":{"split":{"weights":[{"variation":"on","weight":100}]}}}`))
	f.Add(uint8(3), []byte(`{"enabled":false,"version":1}`))
	f.Add(uint8(4), []byte(`{"to":"staging"}`))
	f.Add(uint8(5), []byte(`{"key":"s","rules":[{"clauses":[{"attribute":"a","op":"matches","values":["(("]}]}]}`))
	f.Add(uint8(6), []byte(`{"flag":"seed","context":{"targetingKey":"u","n":[1,{"x":null}]}}`))
	f.Add(uint8(7), []byte("flags:\n  - key: y\n    type: json\n    variations: [{key: a, value: {x: [1]}}]\n    offVariation: a\n    fallthrough: {variation: a}\n"))
	f.Add(uint8(8), []byte(`{"flags":{"z":{"state":"ENABLED","variants":{"a":1,"b":2},"defaultVariant":"a","targeting":{"fractional":[["a",50],["b",50]]}}}}`))
	f.Add(uint8(9), []byte(`{"kind":"admin","role":"viewer"}`))
	f.Add(uint8(10), []byte(`{"key":"p","environments":["a","a"]}`))
	f.Add(uint8(0), []byte(`{"key":"x","type":"number","variations":[{"key":"a","value":1e400}],"offVariation":"a","fallthrough":{"variation":"a"}}`))
	f.Add(uint8(0), []byte(`[]`))
	f.Add(uint8(0), []byte(`{"key":"\u0000"}`))

	h := newHarness(f) // one server for every input: state carries over, as it would in production
	h.createFlag(boolFlag("seed"))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		if r.method == "PUT" {
			req.Header.Set("If-Match", "1")
		}
		rec := httptest.NewRecorder()
		h.ts.Config.Handler.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %s %q: %d %s", r.method, r.path, body, rec.Code, rec.Body)
		case rec.Code >= 400:
			var e apiError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%s %s %q: %d with body %s", r.method, r.path, body, rec.Code, rec.Body)
			}
		case rec.Code != http.StatusNoContent:
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s %q: %d with a body that is not JSON: %s", r.method, r.path, body, rec.Code, rec.Body)
			}
		}
	})
}
