package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/numauth/numauth/test/harness"
	"github.com/numauth/numauth/web/sdk/sdkbuild"
)

// TestNPMPackage is the front-end integrator's path: the web SDK packed with npm, installed
// from the tarball under Alibaba's two package names into a scratch copy of the Node
// example's page project (examples/node-integrator/page), type-checked with tsc, bundled with
// esbuild, and served by the Node example server, which calls numauth with the official
// @alicloud/dypnsapi20170525 SDK. Chromium runs both seed flows through that page.
func TestNPMPackage(t *testing.T) {
	needBrowser(t)
	tools := map[string]string{}
	for _, name := range []string{"node", "npm", "tsc", "go"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("%s is not on PATH: skipping the npm package test (it needs node, npm, tsc and go)", name)
		}
		tools[name] = p
	}
	example, err := filepath.Abs(filepath.Join("..", "..", "examples", "node-integrator"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(example, "node_modules", "@alicloud", "dypnsapi20170525")); err != nil {
		t.Skip("examples/node-integrator has no node_modules: run npm ci there (.ci/run does) to run the npm package test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	run := func(wd, name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, tools[name], args...)
		cmd.Dir = wd
		// npm's cache in the temp dir: the install needs no registry and leaves nothing behind.
		cmd.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(dir, "npm-cache"), "npm_config_update_notifier=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}

	// A scratch consumer project: the example page's package.json, tsconfig.json and main.ts,
	// and the tarball its package.json names.
	consumer := filepath.Join(dir, "page")
	if err := os.MkdirAll(consumer, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"package.json", "tsconfig.json", "main.ts"} {
		copyFile(t, filepath.Join(example, "page", f), filepath.Join(consumer, f))
	}
	tgz, err := sdkbuild.Pack(ctx, tools["npm"], consumer)
	if err != nil {
		t.Fatal(err)
	}
	run(consumer, "npm", "install", "--offline", "--no-audit", "--no-fund")
	for _, alias := range []string{"aliyun_numberauthsdk_web", "aliyun_numberauth_customization_web"} {
		var pkg struct{ Name, Version string }
		b, err := os.ReadFile(filepath.Join(consumer, "node_modules", alias, "package.json"))
		if err == nil {
			err = json.Unmarshal(b, &pkg)
		}
		if err != nil || pkg.Name != "numauth-web-sdk" || !strings.HasSuffix(tgz, "-"+pkg.Version+".tgz") {
			t.Fatalf("node_modules/%s is %+v (%v), want numauth-web-sdk from %s", alias, pkg, err, filepath.Base(tgz))
		}
	}
	run(consumer, "tsc", "--noEmit", "-p", consumer)
	public := filepath.Join(dir, "public")
	run(filepath.Join(example, "..", ".."), "go", "run", "./examples/node-integrator/build", "-page", consumer, "-o", filepath.Join(public, "app.js"))
	copyFile(t, filepath.Join(example, "public", "index.html"), filepath.Join(public, "index.html"))

	in := harness.Start(t, harness.Options{Args: []string{"--sandbox-subscriber", "127.0.0.1=" + lineNumber}})
	pageURL := startNodeIntegrator(t, tools["node"], example, in.URL, public)

	p := openTab(t, pageURL)
	poll[bool](p, `typeof window.integrator == "object"`)
	type outcome struct{ Step, Code, VerifyResult, Mobile, MaskedPhone string }
	flow := func(expr string) outcome {
		t.Helper()
		return eval[outcome](p, expr)
	}
	if o := flow(`integrator.verify("` + lineNumber + `")`); o.Code != "OK" || o.VerifyResult != "PASS" {
		t.Errorf("verify %s = %+v, want PASS", lineNumber, o)
	}
	if o := flow(`integrator.verify("` + otherCM + `")`); o.Code != "OK" || o.VerifyResult != "REJECT" {
		t.Errorf("verify %s = %+v, want REJECT", otherCM, o)
	}
	if o := flow(`integrator.startLogin()`); o.Code != "600000" || o.MaskedPhone != lineMasked {
		t.Fatalf("startLogin = %+v, want mask %s", o, lineMasked)
	}
	if o := flow(`integrator.finishLogin("` + lineMask + `")`); o.Code != "OK" || o.Mobile != lineNumber {
		t.Errorf("finishLogin %s = %+v, want mobile %s", lineMask, o, lineNumber)
	}
}

// startNodeIntegrator runs examples/node-integrator/server.mjs against numauth, serving the
// page from public, on a free port; it returns the page's URL once the server has its scheme.
func startNodeIntegrator(t *testing.T, node, example, numauth, public string) string {
	t.Helper()
	cmd := exec.Command(node, filepath.Join(example, "server.mjs"))
	cmd.Env = append(os.Environ(),
		"NUMAUTH_URL="+numauth, "ADDR=127.0.0.1:0", "PUBLIC_DIR="+public,
		"NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID="+harness.AccessKeyID,
		"NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET="+harness.AccessKeySecret,
	)
	logs := &lockedBuffer{}
	cmd.Stderr = logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	url := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			logs.Write([]byte(line + "\n"))
			if u, ok := strings.CutPrefix(line, "node-integrator: serving "); ok {
				url <- u
			}
		}
		cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("node integrator log:\n%s", logs.String())
		}
	})
	select {
	case u := <-url:
		return u
	case <-exited:
		t.Fatalf("the node integrator exited:\n%s", logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the node integrator did not start:\n%s", logs.String())
	}
	return ""
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(to), 0o755)
	}
	if err == nil {
		err = os.WriteFile(to, b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}
