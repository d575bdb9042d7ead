// Package consolebuild builds the operator console (web/console/src, TypeScript and CSS,
// with uPlot from web/console/node_modules) with esbuild's Go API, in memory. The program
// web/console/build writes what it builds (go generate ./internal/console/consoleasset);
// the tests in internal/console/consoleasset rebuild it to catch a stale committed copy.
package consolebuild

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Repo-relative paths of the files the build writes.
const (
	JSPath  = "internal/console/consoleasset/console.js"
	CSSPath = "internal/console/consoleasset/console.css"
)

// Root is the repository's root directory (found from this file's path).
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("consolebuild: cannot locate its own source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Dir is web/console.
func Dir() string { return filepath.Join(Root(), "web", "console") }

// ErrNoModules: web/console/node_modules is absent (run npm ci there).
var ErrNoModules = errors.New("web/console/node_modules is absent: run npm --prefix web/console ci --ignore-scripts")

// File is one file the build writes.
type File struct {
	Path     string // relative to the repository root
	Contents []byte
}

// Files builds the console's script and style sheet (uPlot's CSS included), minified.
func Files() ([]File, error) {
	if _, err := os.Stat(filepath.Join(Dir(), "node_modules", "uplot")); err != nil {
		return nil, ErrNoModules
	}
	js, err := build("main.ts")
	if err != nil {
		return nil, fmt.Errorf("consolebuild: script: %w", err)
	}
	css, err := build("console.css")
	if err != nil {
		return nil, fmt.Errorf("consolebuild: style sheet: %w", err)
	}
	return []File{{JSPath, js}, {CSSPath, css}}, nil
}

func build(entry string) ([]byte, error) {
	dir := Dir()
	o := api.BuildOptions{
		AbsWorkingDir:     dir,
		EntryPoints:       []string{filepath.Join(dir, "src", entry)},
		Bundle:            true,
		Write:             false,
		Platform:          api.PlatformBrowser,
		Target:            api.ES2020,
		Format:            api.FormatIIFE,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Charset:           api.CharsetASCII,
		LegalComments:     api.LegalCommentsNone,
		Outdir:            filepath.Join(dir, "out"),
		LogLevel:          api.LogLevelSilent,
	}
	r := api.Build(o)
	if msgs := append(r.Errors, r.Warnings...); len(msgs) > 0 {
		text := api.FormatMessages(msgs, api.FormatMessagesOptions{Kind: api.ErrorMessage})
		return nil, errors.New(strings.Join(text, ""))
	}
	if len(r.OutputFiles) != 1 {
		return nil, fmt.Errorf("esbuild produced %d files, want 1", len(r.OutputFiles))
	}
	return r.OutputFiles[0].Contents, nil
}
