package sqlite

import (
	"database/sql"
	"testing"
)

// TestPragmas checks the settings durability and concurrency rest on, on the connections that run the queries.
func TestPragmas(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.w, "journal_mode", "wal"},
		{s.w, "synchronous", "2"}, // FULL
		{s.w, "foreign_keys", "1"},
		{s.w, "busy_timeout", "10000"},
		{s.w, "query_only", "0"},
		{s.r, "journal_mode", "wal"},
		{s.r, "synchronous", "2"},
		{s.r, "foreign_keys", "1"},
		{s.r, "query_only", "1"},
	} {
		var got string
		if err := c.db.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		name := "writer"
		if c.db == s.r {
			name = "reader"
		}
		if got != c.want {
			t.Errorf("%s connection: PRAGMA %s = %s, want %s", name, c.pragma, got, c.want)
		}
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
}
