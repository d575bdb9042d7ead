// Command pack packs the web SDK (web/sdk) into an npm tarball with `npm pack`, after
// checking that the committed built files are fresh, and checks the tarball's contents:
//
//	go run ./web/sdk/pack [-o DIR]
//
// It prints the tarball's path and its size (gzipped, as packed) next to the served
// script's gzipped size. Publishing is docs/web-sdk.md's "Publishing the npm package".
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/numauth/numauth/web/sdk/sdkbuild"
)

func main() {
	out := flag.String("o", ".", "directory to write the tarball into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "pack:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("npm is not on PATH: %w", err)
	}
	dest, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	tgz, err := sdkbuild.Pack(context.Background(), npm, dest)
	if err != nil {
		return err
	}
	st, err := os.Stat(tgz)
	if err != nil {
		return err
	}
	umd, err := os.ReadFile(filepath.Join(sdkbuild.Root(), sdkbuild.PackageUMDPath))
	if err != nil {
		return err
	}
	fmt.Println(tgz)
	fmt.Printf("tarball %d bytes (gzipped); numberauth-web-sdk.js %d bytes, %d gzipped\n", st.Size(), len(umd), sdkbuild.GzipSize(umd))
	return nil
}
