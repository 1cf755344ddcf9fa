package eval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ramphq/ramp/flag"
)

// The spec vectors in testdata/spec are the contract every evaluator (this one and every SDK) must meet. They
// were written from the semantics in docs/flags.md, not from this implementation.

const specDir = "../../testdata/spec"

type specFile struct {
	Description string          `json:"description"`
	Set         json.RawMessage `json:"set"`
	Cases       []struct {
		Name     string          `json:"name"`
		Flag     string          `json:"flag"`
		Context  json.RawMessage `json:"context"`
		Type     flag.ValueType  `json:"type"`
		Expected flag.Detail     `json:"expected"`
	} `json:"cases"`
}

func TestSpecVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(specDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, file := range files {
		if filepath.Base(file) == "bucketing.json" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var sf specFile
		if err := json.Unmarshal(data, &sf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		set, err := flag.Decode(sf.Set)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		snap, err := Compile(set)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		names := map[string]bool{}
		for _, c := range sf.Cases {
			total++
			name := strings.TrimSuffix(filepath.Base(file), ".json") + "/" + c.Name
			if names[c.Name] {
				t.Errorf("%s: duplicate case name", name)
			}
			names[c.Name] = true
			t.Run(name, func(t *testing.T) {
				var ctx flag.Context
				if len(c.Context) > 0 {
					if err := json.Unmarshal(c.Context, &ctx); err != nil {
						t.Fatalf("context: %v", err)
					}
				}
				var got flag.Detail
				if c.Type != "" {
					got = snap.EvaluateAs(c.Flag, c.Type, &ctx)
				} else {
					got = snap.Evaluate(c.Flag, &ctx)
				}
				got.ErrorMessage = "" // free text, not part of the contract
				want := c.Expected
				want.ErrorMessage = ""
				if !reflect.DeepEqual(got, want) {
					t.Errorf("flag %q context %s\n got: %+v\nwant: %+v", c.Flag, c.Context, got, want)
				}
			})
		}
	}
	if total < 150 {
		t.Errorf("only %d spec cases; the contract asks for at least 150", total)
	}
}

// TestSpecInvalid checks that validation reports exactly the problem paths each invalid set lists.
func TestSpecInvalid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(specDir, "invalid", "*.json"))
	if len(files) < 25 {
		t.Fatalf("only %d invalid sets", len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var inv struct {
				Set      json.RawMessage `json:"set"`
				Problems []string        `json:"problems"`
			}
			if err := json.Unmarshal(data, &inv); err != nil {
				t.Fatal(err)
			}
			set, err := flag.Decode(inv.Set)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			_, err = Compile(set)
			if err == nil {
				t.Fatal("compiled an invalid set")
			}
			var got []string
			for _, p := range flag.ProblemsOf(err) {
				got = append(got, p.Path)
			}
			slices.Sort(got)
			want := slices.Clone(inv.Problems)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("problem paths\n got: %q\nwant: %q\nerror: %v", got, want, err)
			}
		})
	}
}

func TestBucketingGoldenVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(specDir, "bucketing.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Vectors []struct {
			Name   string `json:"name"`
			Salt   string `json:"salt"`
			Value  string `json:"value"`
			Bucket int    `json:"bucket"`
		} `json:"vectors"`
		Splits []struct {
			Salt    string  `json:"salt"`
			Value   string  `json:"value"`
			Weights [][]any `json:"weights"`
			Variant string  `json:"variant"`
		} `json:"splits"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Vectors) < 60 {
		t.Fatalf("only %d bucketing vectors", len(g.Vectors))
	}
	for _, v := range g.Vectors {
		if got := Bucket(v.Salt, v.Value); got != v.Bucket {
			t.Errorf("%s: Bucket(%q, %.40q) = %d, want %d", v.Name, v.Salt, v.Value, got, v.Bucket)
		}
	}
	for i, s := range g.Splits {
		f := flag.Flag{Key: "f", Type: flag.TypeString, Enabled: true, OffVariation: "zz-off"}
		f.Variations = append(f.Variations, flag.Variation{Key: "zz-off", Value: "zz-off"})
		sp := &flag.Split{Salt: s.Salt}
		for _, w := range s.Weights {
			key := w[0].(string)
			f.Variations = append(f.Variations, flag.Variation{Key: key, Value: key})
			sp.Weights = append(sp.Weights, flag.WeightedServe{Variation: key, Weight: w[1].(float64)})
		}
		f.Fallthrough = flag.Serve{Split: sp}
		snap, err := Compile(&flag.Set{Flags: []flag.Flag{f}})
		if err != nil {
			t.Fatalf("splits[%d]: %v", i, err)
		}
		ctx := flag.NewContext(s.Value, nil)
		if got := snap.Evaluate("f", &ctx); got.Variant != s.Variant {
			t.Errorf("splits[%d] (salt %q value %q): variant %q, want %q", i, s.Salt, s.Value, got.Variant, s.Variant)
		}
	}
}
