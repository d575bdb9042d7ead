package sdkbuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
)

// PackageFiles are the files of the npm package (web/sdk/package.json's "files", plus what
// npm always adds), as the tarball names them: nothing else may be packed.
var PackageFiles = []string{
	"package/README.md",
	"package/dist/numberauth-web-sdk.d.ts",
	"package/dist/numberauth-web-sdk.js",
	"package/dist/numberauth-web-sdk.mjs",
	"package/package.json",
}

// Stale names the committed built files that differ from a fresh build.
func Stale() ([]string, error) {
	files, err := Files()
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(Root(), f.Path))
		if err != nil || !bytes.Equal(b, f.Contents) {
			stale = append(stale, f.Path)
		}
	}
	return stale, nil
}

// Pack packs web/sdk into an npm tarball in dest with `npm pack` (npm is its path) and
// returns the tarball's path. It refuses when a committed built file is stale, and checks
// that the tarball holds exactly PackageFiles.
func Pack(ctx context.Context, npm, dest string) (string, error) {
	stale, err := Stale()
	if err != nil {
		return "", err
	}
	if len(stale) > 0 {
		return "", fmt.Errorf("stale built files %v: run go generate ./internal/h5/sdkasset first", stale)
	}
	cmd := exec.CommandContext(ctx, npm, "pack", "--json", "--pack-destination", dest)
	cmd.Dir = Dir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("npm pack: %v\n%s", err, stderr.Bytes())
	}
	var packed []struct{ Filename string }
	if err := json.Unmarshal(out, &packed); err != nil || len(packed) != 1 || packed[0].Filename == "" {
		return "", fmt.Errorf("npm pack printed no tarball name (%v):\n%s", err, out)
	}
	tgz := filepath.Join(dest, filepath.Base(packed[0].Filename))
	names, err := TarballFiles(tgz)
	if err != nil {
		return "", err
	}
	if !slices.Equal(names, PackageFiles) {
		return "", fmt.Errorf("%s holds %v, want exactly %v", tgz, names, PackageFiles)
	}
	return tgz, nil
}

// TarballFiles lists the regular files of a gzipped tarball, sorted.
func TarballFiles(tgz string) ([]string, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	var names []string
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		if h.Typeflag == tar.TypeReg {
			names = append(names, h.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// GzipSize is the size of b gzipped at the best compression, as a server would send it.
func GzipSize(b []byte) int {
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return z.Len()
}
