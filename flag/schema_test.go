package flag_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ramphq/ramp/flag"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("../schema/flags.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("flags.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("flags.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func instance(t *testing.T, js []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSchemaAcceptsValidSets: the example, every spec set and the canonical encoding of each conform to
// schema/flags.schema.json, so editors and CI pipelines can rely on the schema.
func TestSchemaAcceptsValidSets(t *testing.T) {
	schema := compileSchema(t)
	y, err := os.ReadFile("../examples/flags.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string][]byte{"examples/flags.yaml": js}
	files, _ := filepath.Glob("../testdata/spec/*.json")
	for _, file := range files {
		if filepath.Base(file) == "bucketing.json" {
			continue
		}
		data, _ := os.ReadFile(file)
		var sf struct {
			Set json.RawMessage `json:"set"`
		}
		if err := json.Unmarshal(data, &sf); err != nil {
			t.Fatal(err)
		}
		docs[file] = sf.Set
	}
	for name, js := range docs {
		if err := schema.Validate(instance(t, js)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		set, err := flag.Decode(js)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		canon, err := flag.EncodeJSON(set)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(instance(t, canon)); err != nil {
			t.Errorf("%s (canonical): %v", name, err)
		}
	}
}

func TestSchemaRejectsBadSets(t *testing.T) {
	schema := compileSchema(t)
	for name, js := range map[string]string{
		"unknown operator": `{"flags":[{"key":"a","type":"boolean","variations":[{"key":"on","value":true}],"offVariation":"on","fallthrough":{"variation":"on"},
			"rules":[{"clauses":[{"attribute":"x","op":"regexx","values":["a"]}],"serve":{"variation":"on"}}]}]}`,
		"wrong value type": `{"flags":[{"key":"a","type":"boolean","variations":[{"key":"on","value":"yes"}],"offVariation":"on","fallthrough":{"variation":"on"}}]}`,
		"unknown field":    `{"flags":[{"key":"a","type":"boolean","enabbled":true,"variations":[{"key":"on","value":true}],"offVariation":"on","fallthrough":{"variation":"on"}}]}`,
		"both serves": `{"flags":[{"key":"a","type":"boolean","variations":[{"key":"on","value":true}],"offVariation":"on",
			"fallthrough":{"variation":"on","split":{"weights":[{"variation":"on","weight":100}]}}}]}`,
		"four decimals": `{"flags":[{"key":"a","type":"boolean","variations":[{"key":"on","value":true}],"offVariation":"on",
			"fallthrough":{"split":{"weights":[{"variation":"on","weight":99.9995}]}}}]}`,
		"bad key": `{"flags":[{"key":"no spaces","type":"boolean","variations":[{"key":"on","value":true}],"offVariation":"on","fallthrough":{"variation":"on"}}]}`,
	} {
		if err := schema.Validate(instance(t, []byte(js))); err == nil {
			t.Errorf("%s: schema accepted it", name)
		}
		set, err := flag.Decode([]byte(js))
		if err == nil {
			err = set.Validate()
		}
		if err == nil {
			t.Errorf("%s: flag.Validate accepted it", name)
		}
	}
}
