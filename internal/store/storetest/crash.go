package storetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ramphq/ramp/internal/store"
)

// Crash checks durability across kill -9. It re-runs the test binary as a child (running only the test named
// child, with env added to its environment), which must call [CrashChild] on a store of the same database. The
// child acknowledges each committed write on stdout; Crash kills it with SIGKILL mid-stream, then opens the
// database with open and checks that every acknowledged write is there, and that each write's flag, audit
// entry and revision bump survived together or not at all.
func Crash(t *testing.T, child string, env []string, open func() store.Store) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]bool{}
	sc := bufio.NewScanner(out)
	read := func() bool {
		if !sc.Scan() {
			return false
		}
		if n, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
			i, err := strconv.Atoi(n)
			if err != nil {
				t.Fatal(err)
			}
			acked[i] = true
		}
		return true
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(acked) < 300 && time.Now().Before(deadline) && read() {
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no deferred Close, no clean shutdown
		t.Fatal(err)
	}
	for read() { // acknowledgements written before the kill but not read yet
	}
	cmd.Wait()
	if len(acked) < 10 {
		t.Fatalf("the child acknowledged only %d writes", len(acked))
	}

	s := open()
	defer s.Close()
	var flags []store.FlagRecord
	var audit []store.AuditEntry
	var e store.Environment
	if err := s.View(t.Context(), func(tx store.Tx) error {
		var err error
		if flags, err = tx.Flags("crash", "prod"); err != nil {
			return err
		}
		if audit, err = allAudit(tx, store.AuditFilter{Project: "crash"}); err != nil {
			return err
		}
		e, err = tx.Environment("crash", "prod")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, f := range flags {
		have[f.Flag.Key] = true
	}
	for i := range acked {
		if !have[crashKey(i)] {
			t.Errorf("acknowledged write %d is missing after kill -9", i)
		}
	}
	if len(audit) != len(flags) || e.Revision != int64(len(flags)) {
		t.Errorf("%d flags, %d audit entries, revision %d: a write survived in part", len(flags), len(audit), e.Revision)
	}
	if len(flags) > len(acked)+1 {
		t.Errorf("%d flags but only %d acknowledged writes (at most one may commit unacknowledged)", len(flags), len(acked))
	}
	t.Logf("%d writes acknowledged before kill -9, %d found after restart", len(acked), len(flags))
}

func crashKey(i int) string { return fmt.Sprintf("f-%05d", i) }

// CrashChild is the writer [Crash] kills: it writes a flag, an audit entry and a revision bump per transaction,
// printing "ack N" to out after each commit, until it fails or is killed.
func CrashChild(s store.Store, out io.Writer) error {
	ctx := context.Background()
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CreateProject(store.Project{Key: "crash"}); err != nil {
			return err
		}
		return tx.CreateEnvironment(store.Environment{Project: "crash", Key: "prod"})
	}); err != nil {
		return err
	}
	for i := 0; ; i++ {
		key := crashKey(i)
		err := s.Update(ctx, func(tx store.Tx) error {
			rec := store.FlagRecord{Project: "crash", Environment: "prod", Flag: simpleFlag(key)}
			if err := tx.PutFlag(&rec, 0); err != nil {
				return err
			}
			if err := tx.AppendAudit(&store.AuditEntry{Action: "flag.create", Project: "crash", Environment: "prod", Resource: "flag", Key: key, Version: 1}); err != nil {
				return err
			}
			_, err := tx.BumpRevision("crash", "prod")
			return err
		})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "ack %d\n", i); err != nil {
			return err
		}
	}
}
