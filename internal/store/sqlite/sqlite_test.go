package sqlite_test

import (
	"testing"

	"github.com/ramphq/ramp/internal/store"
	"github.com/ramphq/ramp/internal/store/sqlite"
	"github.com/ramphq/ramp/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
