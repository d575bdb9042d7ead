package consoleasset_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/internal/console/consoleasset"
	"github.com/numauth/numauth/web/console/consolebuild"
)

// TestUpToDate rebuilds the console in memory and compares it with the committed files.
func TestUpToDate(t *testing.T) {
	files, err := consolebuild.Files()
	if errors.Is(err, consolebuild.ErrNoModules) {
		t.Skip("skipping the console's staleness check: " + err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	embedded := map[string][]byte{consolebuild.JSPath: consoleasset.JS, consolebuild.CSSPath: consoleasset.CSS}
	for _, f := range files {
		committed, err := os.ReadFile(filepath.Join(consolebuild.Root(), f.Path))
		if err != nil {
			t.Errorf("%s: %v; run: go generate ./internal/console/consoleasset", f.Path, err)
			continue
		}
		if !bytes.Equal(committed, f.Contents) || !bytes.Equal(embedded[f.Path], f.Contents) {
			t.Errorf("%s is stale (web/console/src changed since it was built); run: go generate ./internal/console/consoleasset", f.Path)
		}
		if bytes.Contains(f.Contents, []byte(consolebuild.Root())) {
			t.Errorf("%s names this machine's paths", f.Path)
		}
	}
}

// TestTypes type-checks web/console with tsc (strict), when tsc is installed.
func TestTypes(t *testing.T) {
	tsc, err := exec.LookPath("tsc")
	if err != nil {
		t.Skip("tsc is not on PATH: skipping the type check of web/console")
	}
	if _, err := os.Stat(filepath.Join(consolebuild.Dir(), "node_modules", "uplot")); err != nil {
		t.Skip("skipping the type check: " + consolebuild.ErrNoModules.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, tsc, "-p", consolebuild.Dir()).CombinedOutput(); err != nil {
		t.Fatalf("tsc -p web/console failed (%v):\n%s", err, out)
	}
}

// TestSize logs the gzipped size of what a browser loads.
func TestSize(t *testing.T) {
	var total int
	for name, b := range map[string][]byte{"index.html": consoleasset.IndexHTML, "console.js": consoleasset.JS, "console.css": consoleasset.CSS} {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w.Write(b)
		w.Close()
		total += buf.Len()
		t.Logf("%s: %d bytes, %d gzipped", name, len(b), buf.Len())
	}
	t.Logf("total gzipped: %d bytes", total)
	if total > 64<<10 {
		t.Errorf("the console weighs %d bytes gzipped, over its budget of 64 KiB", total)
	}
}

func TestHandler(t *testing.T) {
	h := consoleasset.Handler()
	tests := []struct {
		method, path string
		status       int
		ctype        string
	}{
		{"GET", "/console/", 200, "text/html; charset=utf-8"},
		{"GET", "/console/console.js", 200, "text/javascript; charset=utf-8"},
		{"HEAD", "/console/console.css", 200, "text/css; charset=utf-8"},
		{"GET", "/console/nope", 404, ""},
		{"GET", "/console/../etc/passwd", 404, ""},
		{"POST", "/console/", 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			hd := rec.Header()
			if hd.Get("Content-Security-Policy") != consoleasset.CSP || hd.Get("X-Frame-Options") != "DENY" || hd.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("security headers missing: %v", hd)
			}
			if tc.ctype != "" && hd.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", hd.Get("Content-Type"), tc.ctype)
			}
			if tc.status == 200 {
				req := httptest.NewRequest("GET", tc.path, nil)
				req.Header.Set("If-None-Match", hd.Get("ETag"))
				rec2 := httptest.NewRecorder()
				h.ServeHTTP(rec2, req)
				if rec2.Code != http.StatusNotModified {
					t.Errorf("revalidation: status %d, want 304", rec2.Code)
				}
			}
		})
	}
	if strings.Contains(string(consoleasset.IndexHTML), "<script>") || strings.Contains(consoleasset.CSP, "unsafe-inline") {
		t.Error("the shell must carry no inline script and the CSP must not allow one")
	}
}
