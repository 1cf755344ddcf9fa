package httpapi

import (
	"testing"

	"github.com/ramphq/ramp/flag"
	"github.com/ramphq/ramp/internal/control"
)

func diffFlag(key string, on bool) flag.Flag {
	return flag.Flag{Key: key, Type: flag.TypeBoolean, Enabled: on, OffVariation: "off", Fallthrough: flag.Serve{Variation: "on"},
		Variations: []flag.Variation{{Key: "on", Value: true}, {Key: "off", Value: false}}}
}

// The frames between two snapshots: a change that upserts and removes is a patch on the old revision and then a
// delete on the new one, and only the delete carries the id; no difference is an empty patch that moves the id.
func TestStreamDiffFrames(t *testing.T) {
	old := &control.Snapshot{Revision: 4, Set: &flag.Set{
		Flags:    []flag.Flag{diffFlag("a", true), diffFlag("b", true), diffFlag("c", true)},
		Segments: []flag.Segment{{Key: "gone", Included: []string{"u"}}},
	}}
	cur := &control.Snapshot{Revision: 6, Set: &flag.Set{
		Flags:    []flag.Flag{diffFlag("a", true), diffFlag("c", false), diffFlag("d", true)},
		Segments: []flag.Segment{{Key: "new", Included: []string{"v"}}},
	}}
	var c encCache
	got := string(c.patch(old, cur))
	want := "event: patch\ndata: {\"revision\":6,\"base\":4,\"flags\":[" +
		`{"key":"c","type":"boolean","variations":[{"key":"on","value":true},{"key":"off","value":false}],"enabled":false,"offVariation":"off","fallthrough":{"variation":"on"}},` +
		`{"key":"d","type":"boolean","variations":[{"key":"on","value":true},{"key":"off","value":false}],"enabled":true,"offVariation":"off","fallthrough":{"variation":"on"}}` +
		`],"segments":[{"key":"new","included":["v"]}]}` + "\n\n" +
		"event: delete\nid: 6\ndata: {\"revision\":6,\"base\":6,\"flags\":[\"b\"],\"segments\":[\"gone\"]}\n\n"
	if got != want {
		t.Fatalf("frames\n%s\nwant\n%s", got, want)
	}
	if again := string(c.patch(old, cur)); again != got {
		t.Fatal("the cached frames differ")
	}

	same := &control.Snapshot{Revision: 7, Set: cur.Set}
	if got, want := string(c.patch(cur, same)), "event: patch\nid: 7\ndata: {\"revision\":7,\"base\":6,\"flags\":[],\"segments\":[]}\n\n"; got != want {
		t.Fatalf("no difference: %q, want %q", got, want)
	}
	empty := &control.Snapshot{Project: "p", Environment: "e", Revision: 1, Set: &flag.Set{}}
	if got, want := string(c.put(empty)), "event: put\nid: 1\ndata: {\"project\":\"p\",\"environment\":\"e\",\"revision\":1,\"flags\":{\"flags\":[]}}\n\n"; got != want {
		t.Fatalf("put %q, want %q", got, want)
	}
}
