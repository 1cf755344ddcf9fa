package flagd_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/flagd"
)

// TestImportedSetsConformToSchema: what Import produces, in ramp's canonical JSON, conforms to
// schema/flags.schema.json (targeting, empty fallthroughs), and the schema still rejects an empty
// fallthrough without targeting and targeting beside rules.
func TestImportedSetsConformToSchema(t *testing.T) {
	f, err := os.Open("../../schema/flags.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("flags.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("flags.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(js []byte) error {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		return schema.Validate(v)
	}
	for _, file := range []string{testbedDir + "/flags/testkit-flags.json", "../../testdata/flagd/flagd-testbed-custom-ops.json"} {
		set, _, _ := flagd.ImportPartial(readFile(t, file))
		js, err := flag.EncodeJSON(set)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(js); err != nil {
			t.Errorf("%s imported: %v", file, err)
		}
	}
	for name, js := range map[string]string{
		"empty fallthrough without targeting": `{"flags":[{"key":"a","type":"boolean","variations":[{"key":"on","value":true}],"offVariation":"on","fallthrough":{}}]}`,
		"targeting and rules": `{"flags":[{"key":"a","type":"boolean","variations":[{"key":"on","value":true}],"offVariation":"on","fallthrough":{"variation":"on"},
			"targeting":"on","rules":[{"clauses":[{"attribute":"x","op":"exists"}],"serve":{"variation":"on"}}]}]}`,
	} {
		if err := validate([]byte(js)); err == nil {
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
