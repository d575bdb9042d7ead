// Command build writes the operator console's built files (go generate ./internal/console/consoleasset).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/numauth/numauth/web/console/consolebuild"
)

func main() {
	files, err := consolebuild.Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(consolebuild.Root(), f.Path), f.Contents, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d bytes\n", f.Path, len(f.Contents))
	}
}
