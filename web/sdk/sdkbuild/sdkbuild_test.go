package sdkbuild

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestNodeSuite runs web/sdk/test/*.test.mjs (node --test) against a fresh build: code
// mapping, timeouts, callbacks and promises, argument checks, module formats.
func TestNodeSuite(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: skipping the web SDK's unit tests (web/sdk/test, run with node --test; Node 20 or later)")
	}
	umd, esm, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	umdFile, esmFile := filepath.Join(tmp, "numberauth-web-sdk.js"), filepath.Join(tmp, "numberauth-web-sdk.mjs")
	for path, b := range map[string][]byte{umdFile: umd, esmFile: esm} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests, err := filepath.Glob(filepath.Join(Dir(), "test", "*.test.mjs"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no web/sdk/test/*.test.mjs (%v)", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=tap"}, tests...)...)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), "NUMAUTH_SDK_UMD="+umdFile, "NUMAUTH_SDK_ESM="+esmFile, "NODE_NO_WARNINGS=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test failed (%v):\n%s", err, out)
	}
	// The runner's closing counts ("# tests N", "# pass N", ...).
	for _, line := range bytes.Split(out, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("# ")) && !bytes.HasPrefix(line, []byte("# Subtest")) {
			t.Log(string(line))
		}
	}
}

// TestTypes type-checks the source and the hand-written dist/numberauth-web-sdk.d.ts
// against each other (test/types-check.ts), when tsc is installed; the build never needs it.
func TestTypes(t *testing.T) {
	tsc, err := exec.LookPath("tsc")
	if err != nil {
		t.Skip("tsc is not on PATH: skipping the optional type check of web/sdk (npm i -g typescript to run it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tsc, "-p", Dir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tsc -p web/sdk failed (%v):\n%s", err, out)
	}
}

// TestBuildIsDeterministic: the committed files are compared byte for byte, so two builds must agree.
func TestBuildIsDeterministic(t *testing.T) {
	umd1, esm1, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	umd2, esm2, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(umd1, umd2) || !bytes.Equal(esm1, esm2) {
		t.Fatal("two builds of the same source differ")
	}
	if bytes.Contains(umd1, []byte(Root())) || bytes.Contains(esm1, []byte(Root())) {
		t.Fatal("the build output names this machine's paths")
	}
}

// TestPackageJSON holds web/sdk/package.json to what the package promises: no dependencies,
// no side effects, and every export naming a packed file.
func TestPackageJSON(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(Dir(), "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg map[string]any
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dependencies", "peerDependencies", "optionalDependencies", "devDependencies", "scripts"} {
		if _, ok := pkg[k]; ok {
			t.Errorf("package.json has %q: the package has no dependencies and runs nothing on install", k)
		}
	}
	if pkg["sideEffects"] != false {
		t.Errorf("sideEffects = %v, want false", pkg["sideEffects"])
	}
	// Every path the package names: main, module, types and the leaves of exports.
	var paths []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			paths = append(paths, v)
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, k := range []string{"main", "module", "types", "exports"} {
		if pkg[k] == nil {
			t.Errorf("package.json has no %q", k)
		}
		walk(pkg[k])
	}
	root := pkg["exports"].(map[string]any)["."].(map[string]any)
	if root["types"] != "./dist/numberauth-web-sdk.d.ts" || root["import"] != "./dist/numberauth-web-sdk.mjs" || root["default"] != "./dist/numberauth-web-sdk.js" {
		t.Errorf(`exports["."] = %v, want types, import (the ES module) and default (the UMD file)`, root)
	}
	for _, p := range paths {
		if !slices.Contains(PackageFiles, "package/"+strings.TrimPrefix(p, "./")) {
			t.Errorf("package.json names %s, which is not packed (PackageFiles)", p)
		}
	}
}

// TestPack packs the package with npm and reports its size next to the script's. Pack
// itself refuses stale built files and any file beyond PackageFiles.
func TestPack(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not on PATH: skipping npm pack of web/sdk")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tgz, err := Pack(ctx, npm, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(tgz)
	if err != nil {
		t.Fatal(err)
	}
	umd, _, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d bytes (gzipped, budget %d); numberauth-web-sdk.js: %d bytes gzipped", filepath.Base(tgz), st.Size(), packBudget, GzipSize(umd))
	if st.Size() > packBudget {
		t.Errorf("the packed tarball is %d bytes, over its budget of %d", st.Size(), packBudget)
	}
}

// packBudget is the most the npm tarball may weigh (it is gzipped): the minified script, the
// readable ES module, the types and the README.
const packBudget = 16 << 10
