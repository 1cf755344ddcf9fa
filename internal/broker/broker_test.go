package broker

import "testing"

func TestPublishFiltersAndNeverBlocks(t *testing.T) {
	b := New(2)
	all := b.Subscribe("", "")
	prod := b.Subscribe("p", "production")
	slow := b.Subscribe("p", "")
	defer all.Close()
	defer prod.Close()

	b.Publish(Event{Project: "p", Environment: "production", Revision: 1, Kind: "flag"})
	b.Publish(Event{Project: "p", Environment: "staging", Revision: 1, Kind: "flag"})
	if e := <-prod.C; e.Revision != 1 || e.Environment != "production" {
		t.Fatalf("prod got %+v", e)
	}
	if len(prod.C) != 0 {
		t.Fatal("prod received a staging event")
	}
	// slow and all never read: the third event overflows their buffers of 2; prod is not concerned.
	if n := b.Publish(Event{Project: "p", Environment: "staging", Revision: 2, Kind: "flag"}); n != 2 {
		t.Fatalf("lagged = %d, want 2 (slow and all)", n)
	}
	var got []Event
	for e := range slow.C { // closed after the lagged notice
		got = append(got, e)
	}
	if len(got) != 3 || got[2].Kind != KindLagged {
		t.Fatalf("slow got %+v", got)
	}
	slow.Close() // idempotent after the broker dropped it
	if b.Subscribers() != 1 {
		t.Fatalf("subscribers = %d", b.Subscribers())
	}
	n := 0
	for range all.C {
		n++
	}
	if n != 3 {
		t.Fatalf("all got %d events", n)
	}
}
