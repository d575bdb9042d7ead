package security

import (
	"os"
	"path/filepath"
	"testing"
)

// Finding 10: the database files were 0644 when the data directory already
// existed (only the key files were 0600). Nothing numauth keeps in its data
// directory may be readable by group or others: not a new database, not the
// -wal and -shm files, and not the files an older numauth left 0644.
func TestDataFilesOwnerOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := testContext(t)
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil { // an existing, world-readable data directory
			t.Fatal(err)
		}
		st := b.stores(t)
		s := startServer(t, b, serverOptions{DataDir: dir, Stores: &st, Env: []string{"NUMAUTH_MASTER_KEY="}})
		s.scheme(ctx, "https://files.example.com", "https://files.example.com/", nil) // a write
		want := []string{"master.key", "admin.token"}
		if st.postgresDSN == "" {
			want = append(want, "numauth.db", "numauth.db-wal", "numauth.db-shm")
		}
		checkOwnerOnly(t, dir, want)
		if st.postgresDSN != "" {
			return
		}

		// Database files an older numauth left 0644 are restricted at the
		// next start.
		s.Stop()
		dbFiles := []string{"numauth.db", "numauth.db-wal", "numauth.db-shm"}
		for _, f := range dbFiles {
			if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
		s = startServer(t, b, serverOptions{DataDir: dir, Stores: &st, Env: []string{"NUMAUTH_MASTER_KEY="}})
		s.scheme(ctx, "https://files2.example.com", "https://files2.example.com/", nil)
		checkOwnerOnly(t, dir, dbFiles)
	})
}

// checkOwnerOnly fails the test if a file in dir is readable or writable by
// group or others, or one of want is missing.
func checkOwnerOnly(t *testing.T, dir string, want []string) {
	t.Helper()
	for _, f := range want {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %#o: readable beyond its owner", e.Name(), fi.Mode().Perm())
		}
	}
}
