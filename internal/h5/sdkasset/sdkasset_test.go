package sdkasset_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/numauth/numauth/internal/h5/sdkasset"
	"github.com/numauth/numauth/web/sdk/sdkbuild"
)

// budget is the most the served SDK may weigh, gzipped.
const budget = 8 << 10

// TestUpToDate rebuilds the SDK in memory and compares it with the committed built files.
func TestUpToDate(t *testing.T) {
	files, err := sdkbuild.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		committed, err := os.ReadFile(filepath.Join(sdkbuild.Root(), f.Path))
		if err != nil {
			t.Errorf("%s: %v; run: go generate ./internal/h5/sdkasset", f.Path, err)
			continue
		}
		if !bytes.Equal(committed, f.Contents) {
			t.Errorf("%s is stale (web/sdk/src changed since it was built); run: go generate ./internal/h5/sdkasset", f.Path)
		}
		if f.Path == sdkbuild.UMDPath && !bytes.Equal(sdkasset.JS, f.Contents) {
			t.Error("the embedded JS is stale; run: go generate ./internal/h5/sdkasset")
		}
	}
}

// TestSizeBudget keeps the served file at most 8 KiB gzipped.
func TestSizeBudget(t *testing.T) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(sdkasset.JS)
	w.Close()
	t.Logf("numberauth-web-sdk.js: %d bytes, %d bytes gzipped (budget %d)", len(sdkasset.JS), buf.Len(), budget)
	if buf.Len() > budget {
		t.Errorf("numberauth-web-sdk.js is %d bytes gzipped, over the budget of %d", buf.Len(), budget)
	}
}

// TestVersion: Version is the version the SDK source reports from getVersion().
func TestVersion(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(sdkbuild.Dir(), "src", "core.ts"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`export const VERSION = "([^"]*)"`).FindSubmatch(src)
	if m == nil {
		t.Fatal("web/sdk/src/core.ts declares no VERSION")
	}
	if string(m[1]) != sdkasset.Version {
		t.Errorf("web/sdk/src/core.ts VERSION = %q, sdkasset.Version = %q: make them agree", m[1], sdkasset.Version)
	}
	var pkg struct{ Version string }
	if b, err := os.ReadFile(filepath.Join(sdkbuild.Dir(), "package.json")); err != nil {
		t.Error(err)
	} else if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != sdkasset.Version {
		t.Errorf("web/sdk/package.json version = %q (%v), sdkasset.Version = %q: make them agree", pkg.Version, err, sdkasset.Version)
	}
	if !bytes.Contains(sdkasset.JS, []byte(`"`+sdkasset.Version+`"`)) {
		t.Errorf("the built SDK does not contain version %q", sdkasset.Version)
	}
}
