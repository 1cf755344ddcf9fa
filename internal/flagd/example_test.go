package flagd_test

import (
	"fmt"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/eval"
	"github.com/ramphq/ramp/internal/flagd"
)

// Import a flagd file and evaluate it with ramp's evaluator: fractional buckets exactly as flagd does.
func ExampleImport() {
	set, err := flagd.Import([]byte(`{
	  "flags": {
	    "fractional-flag": {
	      "state": "ENABLED",
	      "variants": {"clubs": "clubs", "diamonds": "diamonds", "hearts": "hearts", "spades": "spades", "wild": "wild"},
	      "defaultVariant": "wild",
	      "targeting": {"fractional": [{"cat": [{"var": "$flagd.flagKey"}, {"var": "user.name"}]},
	        ["clubs", 25], ["diamonds", 25], ["hearts", 25], ["spades", 25]]}
	    }
	  }
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	snap, err := eval.Compile(set)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range []string{"jack", "queen", "ten", "nine"} {
		ctx := flag.NewContext("", map[string]any{"user": map[string]any{"name": name}})
		d := snap.Evaluate("fractional-flag", &ctx)
		fmt.Println(name, d.Variant, d.Reason)
	}
	// Output:
	// jack hearts TARGETING_MATCH
	// queen spades TARGETING_MATCH
	// ten clubs TARGETING_MATCH
	// nine diamonds TARGETING_MATCH
}

// Export a ramp flag as flagd JSON: a rule becomes JsonLogic.
func ExampleExport() {
	set, _ := flag.Decode([]byte(`
flags:
  - key: staff-only
    type: boolean
    variations: [{key: "on", value: true}, {key: "off", value: false}]
    enabled: true
    offVariation: "off"
    rules:
      - clauses: [{attribute: email, op: ends_with, values: ["@example.com"]}]
        serve: {variation: "on"}
    fallthrough: {variation: "off"}
`))
	out, err := flagd.Export(set)
	if err != nil {
		fmt.Println(err)
		return
	}
	back, _ := flagd.Import(out)
	fmt.Println(string(back.Flags[0].Targeting))
	// Output:
	// {"if":[{"ends_with":[{"var":"email"},"@example.com"]},"on"]}
}
