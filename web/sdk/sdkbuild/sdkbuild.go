// Package sdkbuild builds the numauth web SDK (web/sdk/src, TypeScript) with esbuild's Go
// API, in memory. The program web/sdk/build writes what it builds (go generate
// ./internal/h5/sdkasset); the tests in internal/h5/sdkasset rebuild it to catch a stale
// committed copy.
package sdkbuild

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// Repo-relative paths of the files the build writes.
const (
	UMDPath = "internal/h5/sdkasset/numberauth-web-sdk.js"
	ESMPath = "web/sdk/dist/numberauth-web-sdk.mjs"
	// PackageUMDPath is the npm package's copy of the UMD file (web/sdk/package.json's
	// "require" and "./umd" exports): the same bytes as UMDPath.
	PackageUMDPath = "web/sdk/dist/numberauth-web-sdk.js"
	// DTSPath is the hand-written type declaration of the ES module; it is not built.
	DTSPath = "web/sdk/dist/numberauth-web-sdk.d.ts"
)

// globalName is the IIFE's result inside the UMD wrapper: a local of the wrapper, never a global.
const globalName = "numauthSDK"

// umdHead and umdTail wrap esbuild's IIFE: CommonJS gets module.exports; otherwise both
// classes and numauth's FusionAuth become globals of the page (window.PhoneNumberServer,
// window.PhoneServerCustomization, window.FusionAuth)
// and, where an AMD loader is present, the module is also defined for it. The factory runs
// while the script is evaluated, so the SDK can read document.currentScript.
const (
	umdHead = `(function(root,factory){` +
		`if(typeof module=="object"&&module.exports){module.exports=factory();return}` +
		`var m=factory();` +
		`if(typeof define=="function"&&define.amd)define([],function(){return m});` +
		`if(root){root.PhoneNumberServer=m.PhoneNumberServer;root.PhoneServerCustomization=m.PhoneServerCustomization;root.FusionAuth=m.FusionAuth}` +
		`})(typeof self!="undefined"?self:this,function(){`
	umdTail = "return " + globalName + "});"
)

// Root is the repository's root directory (found from this file's path: the build runs
// from source, by go generate, go run or go test).
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("sdkbuild: cannot locate its own source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Dir is web/sdk.
func Dir() string { return filepath.Join(Root(), "web", "sdk") }

// Build compiles web/sdk/src/index.ts into the UMD file (minified, ES2017: sets
// window.PhoneNumberServer, window.PhoneServerCustomization and window.FusionAuth, or module.exports, or an
// AMD module) and the ES module (ES2017, readable: bundlers minify it their own way).
func Build() (umd, esm []byte, err error) {
	umd, err = build(api.BuildOptions{
		Format:            api.FormatIIFE,
		GlobalName:        globalName,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Banner:            map[string]string{"js": umdHead},
		Footer:            map[string]string{"js": umdTail},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sdkbuild: UMD: %w", err)
	}
	esm, err = build(api.BuildOptions{Format: api.FormatESModule})
	if err != nil {
		return nil, nil, fmt.Errorf("sdkbuild: ES module: %w", err)
	}
	return umd, esm, nil
}

func build(o api.BuildOptions) ([]byte, error) {
	dir := Dir()
	o.AbsWorkingDir = dir // output comments name paths relative to it: the same bytes from any cwd
	o.EntryPoints = []string{filepath.Join(dir, "src", "index.ts")}
	o.Bundle = true
	o.Write = false
	o.Platform = api.PlatformBrowser
	o.Target = api.ES2017
	o.Charset = api.CharsetASCII
	o.LegalComments = api.LegalCommentsNone
	o.Outfile = filepath.Join(dir, "out.js") // names the single output; nothing is written
	o.LogLevel = api.LogLevelSilent
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

// File is one file the build writes.
type File struct {
	Path     string // relative to the repository root
	Contents []byte
}

// Files builds and returns the files go generate writes: the UMD file (served by numauth,
// and again in the npm package) and the ES module.
func Files() ([]File, error) {
	umd, esm, err := Build()
	if err != nil {
		return nil, err
	}
	return []File{{UMDPath, umd}, {PackageUMDPath, umd}, {ESMPath, esm}}, nil
}
