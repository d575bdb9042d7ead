// Command build builds the numauth web SDK and writes the built files into the
// repository: internal/h5/sdkasset/numberauth-web-sdk.js (served at /sdk/numberauth-web-sdk.js)
// and web/sdk/dist/numberauth-web-sdk.mjs. It runs from any directory:
//
//	go generate ./internal/h5/sdkasset
//	go run ./web/sdk/build
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/numauth/numauth/web/sdk/sdkbuild"
)

func main() {
	files, err := sdkbuild.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, f := range files {
		path := filepath.Join(sdkbuild.Root(), f.Path)
		if err := os.WriteFile(path, f.Contents, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("wrote %s (%d bytes)\n", f.Path, len(f.Contents))
	}
}
