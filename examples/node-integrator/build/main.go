// Command build bundles the Node integrator's page (examples/node-integrator/page/main.ts,
// with the web SDK installed in page/node_modules from the packed tarball) into
// examples/node-integrator/public/app.js with esbuild, as a front-end build would:
//
//	go run ./examples/node-integrator/build [-page DIR] [-o FILE]
//
// esbuild's Go API is the bundler numauth already builds its SDK with, so the example needs
// no bundler from npm; any bundler (esbuild's npm package, Vite, webpack) builds the same page.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

func main() {
	_, file, _, _ := runtime.Caller(0)
	example := filepath.Join(filepath.Dir(file), "..")
	page := flag.String("page", filepath.Join(example, "page"), "the page's project directory (main.ts, node_modules)")
	out := flag.String("o", filepath.Join(example, "public", "app.js"), "the bundle to write")
	flag.Parse()
	if err := bundle(*page, *out); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	fmt.Println("wrote", *out)
}

func bundle(page, out string) error {
	page, err := filepath.Abs(page)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(page, "node_modules", "aliyun_numberauthsdk_web")); err != nil {
		return fmt.Errorf("the SDK is not installed in %s: pack it and run npm install there (README.md)", page)
	}
	r := api.Build(api.BuildOptions{
		AbsWorkingDir:    page,
		EntryPoints:      []string{filepath.Join(page, "main.ts")},
		Bundle:           true,
		Format:           api.FormatIIFE,
		Platform:         api.PlatformBrowser,
		Target:           api.ES2017,
		MinifyWhitespace: true, MinifyIdentifiers: true, MinifySyntax: true,
		Outfile:  out,
		Write:    true,
		LogLevel: api.LogLevelSilent,
	})
	if msgs := append(r.Errors, r.Warnings...); len(msgs) > 0 {
		return errors.New(strings.Join(api.FormatMessages(msgs, api.FormatMessagesOptions{Kind: api.ErrorMessage}), ""))
	}
	return nil
}
