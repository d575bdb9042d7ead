package main

import (
	"context"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The operator docs are held to the code: a flag, environment variable or
// endpoint added without its line in the README fails here, and so does a
// line for one that is gone. Everything is read from the code as it is, so
// new flags, variables and endpoints are picked up without editing this test.

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tableColumn returns the first cell of every row of the Markdown table whose
// header row starts with header (e.g. "| flag |").
func tableColumn(t *testing.T, doc, header string) []string {
	t.Helper()
	var cells []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, header):
			if in {
				t.Fatalf("two tables start with %q", header)
			}
			in = true
		case in && strings.HasPrefix(line, "|---"):
		case in && strings.HasPrefix(line, "|"):
			cells = append(cells, strings.Split(line, "|")[1])
		case in:
			return cells
		}
	}
	if !in {
		t.Fatalf("no table starts with %q", header)
	}
	return cells
}

// sameSet reports, as test errors, what is in code but not in docs and the
// reverse.
func sameSet(t *testing.T, what, doc string, code, docs []string) {
	t.Helper()
	for _, c := range code {
		if !slices.Contains(docs, c) {
			t.Errorf("%s%s is not in %s", what, c, doc)
		}
	}
	for _, d := range docs {
		if !slices.Contains(code, d) {
			t.Errorf("%s%s is in %s but not in the code", what, d, doc)
		}
	}
}

var flagName = regexp.MustCompile("`--([a-z0-9-]+)")

func TestDocsListEveryServeFlag(t *testing.T) {
	var code []string
	newServeFlagSet(&serveFlags{}).VisitAll(func(f *flag.Flag) { code = append(code, f.Name) })
	if len(code) < 10 {
		t.Fatalf("newServeFlagSet has only %v", code)
	}
	for _, doc := range []struct{ name, header string }{
		{"README.md", "| flag | default |"},
		{"docs/operations.md", "| flag | variable |"},
	} {
		var docs []string
		for _, cell := range tableColumn(t, readDoc(t, doc.name), doc.header) {
			for _, m := range flagName.FindAllStringSubmatch(cell, -1) {
				docs = append(docs, m[1])
			}
		}
		sameSet(t, "flag --", doc.name, code, docs)
	}
}

// goFiles parses the non-test Go files below dirs (relative to the root).
func goFiles(t *testing.T, dirs ...string) []*ast.File {
	t.Helper()
	var files []*ast.File
	fset := token.NewFileSet()
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			files = append(files, f)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// stringLiterals returns the values of the string literals in files.
func stringLiterals(files []*ast.File) []string {
	var out []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}

var envName = regexp.MustCompile(`^NUMAUTH_[A-Z0-9_]+$`)
var envMention = regexp.MustCompile(`NUMAUTH_[A-Z0-9_]+`)

// envNames returns the NUMAUTH_* names among the string literals below dirs.
func envNames(t *testing.T, dirs ...string) []string {
	var names []string
	for _, s := range stringLiterals(goFiles(t, dirs...)) {
		if envName.MatchString(s) && !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	return names
}

// Every NUMAUTH_* variable numauth reads (cmd and internal) is named in the
// README, and the README names none that neither numauth nor an example
// reads.
func TestREADMENamesEveryEnvironmentVariable(t *testing.T) {
	code := envNames(t, "cmd", "internal")
	if !slices.Contains(code, "NUMAUTH_MASTER_KEY") {
		t.Fatalf("found %v: the scan misses os.Getenv(\"NUMAUTH_MASTER_KEY\")", code)
	}
	known := append(envNames(t, "examples"), code...)
	readme := readDoc(t, "README.md")
	for _, name := range code {
		if !strings.Contains(readme, name) {
			t.Errorf("numauth reads %s, which README.md does not name", name)
		}
	}
	for _, m := range envMention.FindAllString(readme, -1) {
		if !slices.Contains(known, m) {
			t.Errorf("README.md names %s, which nothing reads", m)
		}
	}
}

// endpoint is a method (empty: any) and a path; a path ending in "/*" or
// "/" (other than "/") stands for the subtree.
type endpoint struct{ method, path string }

var patternLiteral = regexp.MustCompile(`^(?:([A-Z]+) )?(/[^\s"]*)$`)

func parseEndpoint(s string) (endpoint, bool) {
	m := patternLiteral.FindStringSubmatch(s)
	if m == nil {
		return endpoint{}, false
	}
	return endpoint{m[1], m[2]}, true
}

// route is the pattern the server's mux serves e with; "" when none.
func route(mux *http.ServeMux, e endpoint) string {
	method := e.method
	if method == "" {
		method = "GET"
	}
	p := strings.TrimSuffix(e.path, "*")
	p = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(p, "x")
	req, err := http.NewRequest(method, p, nil)
	if err != nil {
		return "" // not a path a request can have (a format string, say)
	}
	_, pattern := mux.Handler(req)
	return pattern
}

// covers reports whether the README's entry doc covers the mux pattern p.
func covers(doc endpoint, pattern string) bool {
	e, _ := parseEndpoint(pattern)
	if doc.path == e.path {
		return true
	}
	sub := strings.TrimSuffix(doc.path, "*")
	return sub != "/" && strings.HasSuffix(sub, "/") && strings.HasPrefix(e.path, sub)
}

// Every route the server mounts is in the README's endpoint table, and every
// entry of the table is served. The routes are found by asking the server's
// own mux about every path-like string literal in cmd and internal (a
// pattern cannot be registered without one), so what answers is what
// counts: literals of other muxes fall through to the API's "/".
func TestREADMEListsEveryEndpoint(t *testing.T) {
	t.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_ID", "")
	t.Setenv("NUMAUTH_BOOTSTRAP_ACCESS_KEY_SECRET", "")
	var f serveFlags
	if err := newServeFlagSet(&f).Parse([]string{"--data-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(context.Background(), f, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	mux, ok := srv.handler.(*http.ServeMux)
	if !ok {
		t.Fatalf("the server's handler is a %T, not the *http.ServeMux this test asks for its routes", srv.handler)
	}
	var mounted []string
	for _, s := range stringLiterals(goFiles(t, "cmd", "internal")) {
		if e, ok := parseEndpoint(s); ok {
			if p := route(mux, e); p != "" && !slices.Contains(mounted, p) {
				mounted = append(mounted, p)
			}
		}
	}
	if !slices.Contains(mounted, "GET /healthz") || !slices.Contains(mounted, "/") {
		t.Fatalf("found %v: the scan misses GET /healthz or the API", mounted)
	}
	var docs []endpoint
	for _, cell := range tableColumn(t, readDoc(t, "README.md"), "| endpoint |") {
		e, ok := parseEndpoint(strings.Trim(strings.TrimSpace(cell), "`"))
		if !ok {
			t.Fatalf("README endpoint %q is not METHOD /path or /path", cell)
		}
		docs = append(docs, e)
	}
	for _, p := range mounted {
		if !slices.ContainsFunc(docs, func(d endpoint) bool { return covers(d, p) }) {
			t.Errorf("the server mounts %s, which the README's endpoint table does not list", p)
		}
	}
	for _, d := range docs {
		if p := route(mux, d); p == "" || (p == "/" && d.path != "/") {
			t.Errorf("the README lists %s, which the server does not serve (it goes to %q)", strings.TrimSpace(d.method+" "+d.path), p)
		}
	}
}

var goLine = regexp.MustCompile(`(?m)^go ([0-9.]+)$`)

func TestREADMENamesTheGoVersion(t *testing.T) {
	m := goLine.FindStringSubmatch(readDoc(t, "go.mod"))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "Go " + m[1] + " or newer"; !strings.Contains(readDoc(t, "README.md"), want) {
		t.Errorf("README.md does not say %q (go.mod's go line)", want)
	}
}
