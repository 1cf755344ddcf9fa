package flagd_test

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/eval"
	"github.com/ramphq/ramp/internal/flagd"
)

// TestFractionalVectors checks all 164 fractional vectors of flagd-testbed (testdata/flagd, see its README):
//   - every MurmurHash3 value in the file, of the v1/v2 input (flagKey + bucketing value) and of the v3 input
//     (CBOR: the given bytes, or the encoding of the bucketing string, or of [flagKey, targetingKey]);
//   - every @fractional-v2 vector (flagd's current scheme, the one ramp implements) end to end: the flag
//     definitions are imported, compiled and evaluated, and must serve the expected variant;
//   - every @fractional-v1 and @fractional-v3 vector by that scheme's bucket arithmetic over the verified hash
//     and the flag's weights, which shows the file is read right (ramp serves neither scheme).
func TestFractionalVectors(t *testing.T) {
	data, err := os.ReadFile("../../testdata/flagd/flagd-testbed-custom-ops.json")
	if err != nil {
		t.Fatal(err)
	}
	set, err := flagd.Import(data)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := eval.Compile(set)
	if err != nil {
		t.Fatal(err)
	}
	var defs struct {
		Flags map[string]struct {
			Targeting struct {
				Fractional []any `json:"fractional"`
			} `json:"targeting"`
		} `json:"flags"`
	}
	if err := json.Unmarshal(data, &defs); err != nil {
		t.Fatal(err)
	}
	// variantsAndWeights reads a flag's constant distributions.
	variantsAndWeights := func(key string) ([]string, []int) {
		var names []string
		var weights []int
		for _, d := range defs.Flags[key].Targeting.Fractional {
			arr, ok := d.([]any)
			if !ok {
				continue // the bucketing expression
			}
			names = append(names, arr[0].(string))
			w := 1
			if len(arr) > 1 {
				w = int(arr[1].(float64))
			}
			weights = append(weights, w)
		}
		return names, weights
	}

	vdata, err := os.ReadFile("../../testdata/flagd/flagd-fractional-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Count   int `json:"count"`
		Vectors []struct {
			Scenario string  `json:"scenario"`
			Tag      string  `json:"tag"`
			Input    string  `json:"input"`
			Expected string  `json:"expected"`
			Hashed   *string `json:"hashedStringV1V2"`
			HashV2   *uint32 `json:"murmur3_32_v1v2"`
			HashV3   *uint32 `json:"murmur3_32_v3"`
			CBOR     *string `json:"cborHex"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(vdata, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) != 164 || file.Count != 164 {
		t.Fatalf("%d vectors (count %d), want 164", len(file.Vectors), file.Count)
	}
	type target struct {
		flag   string
		byUser bool // the bucketing value comes from user.name, not the targeting key
	}
	scenarios := map[string]target{
		"Fractional operator":                              {"fractional-flag", true},
		"Fractional operator shorthand":                    {"fractional-flag-shorthand", false},
		"Fractional operator using implicit targeting key": {"fractional-flag-shorthand", false},
		"Fractional operator with shared seed":             {"fractional-flag-A-shared-seed", true},
		"Second fractional operator with shared seed":      {"fractional-flag-B-shared-seed", true},
		"Fractional operator hash edge cases":              {"fractional-hash-edge-flag", false},
	}
	counts := map[string]int{}
	for i, v := range file.Vectors {
		tg, ok := scenarios[v.Scenario]
		if !ok {
			tg = target{flag: "fractional-basic-flag"} // the v3 scenarios over typed hashing inputs
		}
		names, weights := variantsAndWeights(tg.flag)
		if len(names) == 0 {
			t.Fatalf("vector %d: flag %s has no constant distributions", i, tg.flag)
		}
		// The v1/v2 hash.
		if v.Hashed != nil {
			_, h := eval.FlagdBucket(*v.Hashed, []int{1})
			if v.HashV2 == nil || h != *v.HashV2 {
				t.Errorf("vector %d: murmur3(%q) = %d, want %v", i, *v.Hashed, h, v.HashV2)
			}
			counts["hash v1/v2"]++
		}
		// The v3 hash, over CBOR.
		if v.HashV3 != nil {
			var input []byte
			switch {
			case v.CBOR != nil:
				if input, err = hex.DecodeString(*v.CBOR); err != nil {
					t.Fatal(err)
				}
			case !tg.byUser && v.Scenario != "Fractional operator hash edge cases":
				input = append([]byte{0x82}, append(cborText(tg.flag), cborText(v.Input)...)...)
			case v.Hashed != nil:
				input = cborText(*v.Hashed)
			}
			if h := murmur(input); h != *v.HashV3 {
				t.Errorf("vector %d (%s %s): murmur3(v3 input %x) = %d, want %d", i, v.Scenario, v.Input, input, h, *v.HashV3)
			}
			counts["hash v3"]++
		}
		// The variant.
		var got string
		switch v.Tag {
		case "@fractional-v2":
			attrs := map[string]any{}
			tk := v.Input
			if tg.byUser {
				attrs["user"] = map[string]any{"name": v.Input}
				tk = "unused-targeting-key"
			}
			ctx := flag.NewContext(tk, attrs)
			d := snap.Evaluate(tg.flag, &ctx)
			got, _ = d.Value.(string)
			if d.Reason != flag.ReasonTargetingMatch {
				t.Errorf("vector %d: %s for %q: %+v", i, tg.flag, v.Input, d)
			}
		case "@fractional-v1":
			got = valueOf(set, tg.flag, names[v1Bucket(*v.HashV2, weights)])
		case "@fractional-v3":
			idx, _ := bucketOfHash(*v.HashV3, weights)
			got = valueOf(set, tg.flag, names[idx])
		default:
			t.Fatalf("vector %d: unknown tag %s", i, v.Tag)
		}
		if got != v.Expected {
			t.Errorf("vector %d (%s %s, %q): variant %q, want %q", i, v.Scenario, v.Tag, v.Input, got, v.Expected)
		}
		counts[v.Tag]++
	}
	t.Logf("checked %v", counts)
	if counts["@fractional-v2"] == 0 || counts["hash v3"] == 0 || counts["@fractional-v1"]+counts["@fractional-v2"]+counts["@fractional-v3"] != 164 {
		t.Fatalf("vectors checked: %v", counts)
	}
}

// valueOf returns the string value of a flag's variation: the testbed expects values (flag B's variant
// "hearts" is "ace-of-hearts").
func valueOf(set *flag.Set, key, variation string) string {
	for _, f := range set.Flags {
		if f.Key != key {
			continue
		}
		for _, v := range f.Variations {
			if v.Key == variation {
				s, _ := v.Value.(string)
				return s
			}
		}
	}
	return ""
}

// bucketOfHash is flagd's current arithmetic: (hash · total) >> 32, walked over the weights.
func bucketOfHash(h uint32, weights []int) (int, uint64) {
	var total uint64
	for _, w := range weights {
		total += uint64(w)
	}
	b := (uint64(h) * total) >> 32
	var end uint64
	for i, w := range weights {
		end += uint64(w)
		if b < end {
			return i, b
		}
	}
	return len(weights) - 1, b
}

// v1Bucket is flagd's retired arithmetic: abs(int32(hash)) / MaxInt32 · 100, walked over the weights as
// percentages of their total.
func v1Bucket(h uint32, weights []int) int {
	ratio := math.Abs(float64(int32(h))) / math.MaxInt32
	bucket := int(ratio * 100)
	total := 0
	for _, w := range weights {
		total += w
	}
	end := 0.0
	for i, w := range weights {
		end += 100 * float64(w) / float64(total)
		if float64(bucket) < end {
			return i
		}
	}
	return len(weights) - 1
}

// cborText is the CBOR encoding of a text string (major type 3).
func cborText(s string) []byte {
	n := len(s)
	var head []byte
	switch {
	case n < 24:
		head = []byte{0x60 | byte(n)}
	case n < 256:
		head = []byte{0x78, byte(n)}
	default:
		head = []byte{0x79, 0, 0}
		binary.BigEndian.PutUint16(head[1:], uint16(n))
	}
	return append(head, s...)
}

// murmur hashes bytes with the evaluator's MurmurHash3 (through a string, as the evaluator sees them).
func murmur(b []byte) uint32 {
	_, h := eval.FlagdBucket(string(b), []int{1})
	return h
}
