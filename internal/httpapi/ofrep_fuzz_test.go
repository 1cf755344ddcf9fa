package httpapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzOFREPDecode feeds arbitrary bodies to the OFREP request decoder. It must never panic; it either accepts
// the body or refuses it with PARSE_ERROR or INVALID_CONTEXT (TARGETING_KEY_MISSING when the key is required);
// whatever the fast flat-context path accepts, encoding/json reads the same way; and an accepted context
// survives a round trip through its JSON form.
func FuzzOFREPDecode(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `{"context":null}`, `{"context":{}}`, `{"context":5}`, `{"context":`,
		`{"context":{"targetingKey":"user-1","email":"a@example.com","country":"BR","age":42,"beta":true,"x":null}}`,
		`{"context":{"targetingKey":7}}`, `{"context":{"a":{"b":[1,2,{"c":"d"}]}}}`, `{"context":{"s":"\u00e9\n"}}`,
		`{"context":{"n":-0.5e-3,"m":1E+2,"z":0}}`, `{"context":{"n":1e999}}`, `{"context":{"a":1,"a":2}}`,
		" {\"context\" : { \"k\" : \"v\" } } ", `{"context":{"k":"v"},"other":1}`, "{\"context\":{\"\xff\":1}}",
	} {
		f.Add([]byte(s))
	}
	sc := &scratch{names: map[string]string{}, attrs: map[string]any{}} // shared across inputs, as a pooled buffer's is
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, require := range []bool{false, true} {
			c, err := decodeOFREP(body, require, sc)
			if len(sc.attrs) != 0 {
				t.Fatalf("%q: the scratch map was not emptied", body)
			}
			if err != nil {
				var oe *ofrepError
				if !errors.As(err, &oe) {
					t.Fatalf("%q: error %v is not an OFREP request error", body, err)
				}
				switch oe.code {
				case codeParseError, codeInvalidContext:
				case codeTargetingKeyMissing:
					if !require {
						t.Fatalf("%q: TARGETING_KEY_MISSING without RequireTargetingKey", body)
					}
				default:
					t.Fatalf("%q: error code %s", body, oe.code)
				}
				continue
			}
			js, err := c.MarshalJSON()
			if err != nil {
				t.Fatalf("%q: accepted context does not encode: %v", body, err)
			}
			again, err := decodeOFREP([]byte(`{"context":`+string(js)+`}`), require, nil)
			if err != nil {
				t.Fatalf("%q: round trip through %s: %v", body, js, err)
			}
			if again.TargetingKey != c.TargetingKey || !reflect.DeepEqual(again.Attributes(), c.Attributes()) {
				t.Fatalf("%q: round trip changed the context: %s", body, js)
			}
		}
		// The fast path and encoding/json agree.
		if m, ok := fastContext(body, nil); ok {
			var req ofrepRequest
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatalf("%q: fast path accepted what encoding/json refuses: %v", body, err)
			}
			if !reflect.DeepEqual(m, req.Context) && !(len(m) == 0 && len(req.Context) == 0) {
				t.Fatalf("%q: fast path %v, encoding/json %v", body, m, req.Context)
			}
		}
	})
}
