package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ramphq/ramp/internal/control"
	"github.com/ramphq/ramp/internal/httpapi"
)

// The OpenAPI document is checked three ways: it validates against the OpenAPI 3.1 schema published by the
// OpenAPI Initiative (testdata/oas-3.1-schema.json, id https://spec.openapis.org/oas/3.1/schema/2022-10-07, as
// shipped in github.com/pb33f/libopenapi's datamodel/schemas), every route the server registers is described in
// it and nothing more, and every JSON response the handler tests see conforms to the schema the document gives
// for that operation and status (see specCheck).

func openAPIDoc(t testing.TB) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

func TestOpenAPIValidates31(t *testing.T) {
	doc := openAPIDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi = %q, want 3.1.x", v)
	}
	f, err := os.Open("testdata/oas-3.1-schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	meta, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://spec.openapis.org/oas/3.1/schema/2022-10-07", meta); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("https://spec.openapis.org/oas/3.1/schema/2022-10-07")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(httpapi.OpenAPI))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3.1 document:\n%v", err)
	}

	// The component schemas are JSON Schema 2020-12 (OpenAPI 3.1's dialect): each must compile, which also
	// resolves every $ref they hold.
	specSchemas := specCompiler(t)
	comps := doc["components"].(map[string]any)
	for name := range comps["schemas"].(map[string]any) {
		if _, err := specSchemas.Compile("openapi.json#/components/schemas/" + name); err != nil {
			t.Errorf("component schema %s: %v", name, err)
		}
	}
	// Every other $ref (responses, parameters) points at something that exists.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if _, err := pointer(doc, r); err != nil {
					t.Errorf("$ref %s: %v", r, err)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)

	// Security schemes: Bearer and X-API-Key, required by default.
	ss := comps["securitySchemes"].(map[string]any)
	if b := ss["bearerAuth"].(map[string]any); b["scheme"] != "bearer" {
		t.Errorf("bearerAuth = %v", b)
	}
	if k := ss["apiKeyHeader"].(map[string]any); k["name"] != "X-API-Key" || k["in"] != "header" {
		t.Errorf("apiKeyHeader = %v", k)
	}
}

// unauthenticated are the routes served outside Server.Routes (no key needed); the document describes them too.
var unauthenticated = []string{"GET /healthz", "GET /readyz", "GET /api/v1/openapi.json"}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	srv := httpapi.New(httpapi.Options{Control: control.New(control.Options{})})
	var served []string
	for _, r := range srv.Routes() {
		method, path, ok := strings.Cut(r, " ")
		if !ok {
			t.Fatalf("route %q has no method", r)
		}
		served = append(served, strings.ToLower(method)+" "+path)
	}
	for _, r := range unauthenticated {
		m, p, _ := strings.Cut(r, " ")
		served = append(served, strings.ToLower(m)+" "+p)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(m, p, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d, want 200 without a key", r, rec.Code)
		}
	}
	var described []string
	methods := []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}
	for path, item := range openAPIDoc(t)["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			if slices.Contains(methods, m) {
				described = append(described, m+" "+path)
			}
		}
	}
	sort.Strings(served)
	sort.Strings(described)
	for _, r := range served {
		if !slices.Contains(described, r) {
			t.Errorf("route %s is served but not described in openapi.json", r)
		}
	}
	for _, r := range described {
		if !slices.Contains(served, r) {
			t.Errorf("openapi.json describes %s, which the server does not serve", r)
		}
	}
	if len(served) < 30 {
		t.Errorf("only %d routes: is the admin API registered?", len(served))
	}
}

func TestOpenAPIServed(t *testing.T) {
	srv := httpapi.New(httpapi.Options{Control: control.New(control.Options{})})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || !bytes.Equal(rec.Body.Bytes(), httpapi.OpenAPI) {
		t.Fatalf("GET /api/v1/openapi.json: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// pointer resolves a local JSON reference ("#/components/schemas/Flag") in doc.
func pointer(doc any, ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, errString("not a local reference")
	}
	cur := doc
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, errString("no " + tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, errString("no " + tok)
		}
	}
	return cur, nil
}

type errString string

func (e errString) Error() string { return string(e) }

var (
	specOnce sync.Once
	specComp *jsonschema.Compiler
	specMu   sync.Mutex
	specDoc  map[string]any
	specSch  = map[string]*jsonschema.Schema{}
)

// specCompiler returns a JSON Schema compiler holding openapi.json as the resource "openapi.json".
func specCompiler(t testing.TB) *jsonschema.Compiler {
	specOnce.Do(func() {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(httpapi.OpenAPI))
		if err != nil {
			t.Fatal(err)
		}
		specComp = jsonschema.NewCompiler()
		specComp.DefaultDraft(jsonschema.Draft2020)
		if err := specComp.AddResource("openapi.json", inst); err != nil {
			t.Fatal(err)
		}
		specDoc = openAPIDoc(t)
	})
	return specComp
}

// specCheck checks one response against openapi.json: the operation (found by method and path template) must
// list the status, and a JSON body must conform to the schema documented for it.
func specCheck(t testing.TB, method, urlPath string, status int, ctype string, body []byte) {
	t.Helper()
	c := specCompiler(t)
	specMu.Lock()
	defer specMu.Unlock()
	tmpl, opPtr, op, ok := specOperation(t, method, urlPath)
	if !ok {
		return
	}
	var err error
	respPtr := opPtr + "/responses/" + strconv.Itoa(status)
	resp, ok := op.(map[string]any)["responses"].(map[string]any)[strconv.Itoa(status)]
	if !ok {
		t.Errorf("openapi.json: %s %s does not list status %d (body %s)", method, tmpl, status, body)
		return
	}
	if r, ok := resp.(map[string]any)["$ref"].(string); ok {
		respPtr = strings.TrimPrefix(r, "#")
		resp, _ = pointer(specDoc, r)
	}
	content, _ := resp.(map[string]any)["content"].(map[string]any)
	if len(content) == 0 {
		if len(body) > 0 {
			t.Errorf("openapi.json: %s %s %d documents no body, got %s", method, tmpl, status, body)
		}
		return
	}
	mt, _, _ := strings.Cut(ctype, ";")
	if _, ok := content[mt]; !ok {
		t.Errorf("openapi.json: %s %s %d does not document content type %q", method, tmpl, status, mt)
		return
	}
	if mt != "application/json" {
		return
	}
	loc := "openapi.json#" + respPtr + "/content/application~1json/schema"
	sch := specSch[loc]
	if sch == nil {
		if sch, err = c.Compile(loc); err != nil {
			t.Fatalf("compile %s: %v", loc, err)
		}
		specSch[loc] = sch
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Errorf("%s %s %d: body is not JSON: %v", method, urlPath, status, err)
		return
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s %s %d: the body does not match openapi.json: %v\nbody: %s", method, urlPath, status, err, body)
	}
}

// specOperation finds the operation that serves method and urlPath.
func specOperation(t testing.TB, method, urlPath string) (tmpl, opPtr string, op any, ok bool) {
	t.Helper()
	for p := range specDoc["paths"].(map[string]any) {
		if matchTemplate(p, urlPath) && (tmpl == "" || strings.Count(p, "{") < strings.Count(tmpl, "{")) {
			tmpl = p
		}
	}
	if tmpl == "" {
		t.Errorf("openapi.json: no path matches %s", urlPath)
		return "", "", nil, false
	}
	opPtr = "/paths/" + strings.ReplaceAll(tmpl, "/", "~1") + "/" + strings.ToLower(method)
	op, err := pointer(specDoc, "#"+opPtr)
	if err != nil {
		t.Errorf("openapi.json: %s %s is not described", method, tmpl)
		return "", "", nil, false
	}
	return tmpl, opPtr, op, true
}

// specCheckRequest checks that a JSON request body the server accepted conforms to the operation's documented
// request schema, so the document is never stricter than the server.
func specCheckRequest(t testing.TB, method, urlPath string, body []byte) {
	t.Helper()
	c := specCompiler(t)
	specMu.Lock()
	defer specMu.Unlock()
	tmpl, opPtr, op, ok := specOperation(t, method, urlPath)
	if !ok {
		return
	}
	rb, ok := op.(map[string]any)["requestBody"].(map[string]any)
	if !ok {
		if len(bytes.TrimSpace(body)) > 0 {
			t.Errorf("openapi.json: %s %s documents no request body, but the server accepted %s", method, tmpl, body)
		}
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if req, _ := rb["required"].(bool); req {
			t.Errorf("openapi.json: %s %s requires a body, but the server accepted none", method, tmpl)
		}
		return
	}
	loc := "openapi.json#" + opPtr + "/requestBody/content/application~1json/schema"
	sch := specSch[loc]
	if sch == nil {
		var err error
		if sch, err = c.Compile(loc); err != nil {
			t.Fatalf("compile %s: %v", loc, err)
		}
		specSch[loc] = sch
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return // not JSON (a YAML import): nothing to check here
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s %s: the server accepted a request body that openapi.json rejects: %v\nbody: %s", method, urlPath, err, body)
	}
}

func matchTemplate(tmpl, path string) bool {
	a, b := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.HasPrefix(a[i], "{") {
			if b[i] == "" {
				return false
			}
			continue
		}
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
