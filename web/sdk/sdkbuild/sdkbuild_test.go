package sdkbuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
