package main

import (
	"bytes"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/numauth/numauth/internal/bench"
)

func TestGlyphsWellFormed(t *testing.T) {
	for r, g := range glyphs {
		for i, row := range g {
			if len(row) != glyphW || strings.Trim(row, ".#") != "" {
				t.Errorf("glyph %q row %d = %q: want %d of '.' and '#'", r, i, row, glyphW)
			}
		}
	}
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" {
		if _, ok := glyphs[r]; !ok {
			t.Errorf("no glyph for %q", r)
		}
	}
	if textWidth("", 2) != 0 || textWidth("AB", 2) != 22 {
		t.Errorf("textWidth: %d %d", textWidth("", 2), textWidth("AB", 2))
	}
}

func TestNiceScale(t *testing.T) {
	for _, tc := range []struct{ vmax, step, top float64 }{
		{163, 50, 200}, {0, 1, 5}, {9.5, 2, 10}, {9.9, 2, 12}, {1000, 200, 1200}, {0.31, 0.1, 0.4},
	} {
		step, top := niceScale(tc.vmax)
		if step != tc.step || top != tc.top {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", tc.vmax, step, top, tc.step, tc.top)
		}
	}
}

func TestLogAxis(t *testing.T) {
	ax := logAxis([]float64{1.6, 2757, 0})
	var labels []string
	for _, tk := range ax.ticks {
		labels = append(labels, tk.label)
	}
	if got := strings.Join(labels, " "); got != "1 2 5 10 20 50 100 200 500 1000 2000 5000 10000" {
		t.Fatalf("ticks %q", got)
	}
	if ax.frac(1) != 0 || ax.frac(10000) != 1 || ax.frac(100) != 0.5 {
		t.Fatalf("frac: %v %v %v", ax.frac(1), ax.frac(10000), ax.frac(100))
	}
	small := logAxis([]float64{0.3})
	if small.ticks[0].label != "0.1" || small.ticks[len(small.ticks)-1].label != "1" {
		t.Fatalf("sub-millisecond ticks %+v", small.ticks)
	}
}

func report(kind bench.Kind, conc int, fps, p99, noopP99 float64) *bench.Report {
	r := &bench.Report{Kind: kind, Concurrency: conc, CPUs: 2, FlowsPerSecond: fps, Flow: bench.Latency{P99Ms: p99}}
	if noopP99 > 0 {
		r.Baseline = &bench.Baseline{Latency: bench.Latency{P99Ms: noopP99}}
	}
	return r
}

func TestCollectAveragesRepeats(t *testing.T) {
	ss := collect([]*bench.Report{
		report(bench.KindVerify, 4, 100, 10, 2), report(bench.KindVerify, 4, 200, 30, 0),
		report(bench.KindVerify, 1, 50, 5, 1), report(bench.KindLogin, 16, 80, 90, 0),
	})
	if len(ss) != 2 || ss[0].kind != bench.KindLogin || ss[1].kind != bench.KindVerify {
		t.Fatalf("series %+v", ss)
	}
	v := ss[1].points
	if len(v) != 2 || v[0].conc != 1 || v[1].conc != 4 {
		t.Fatalf("verify points %+v: want sorted by concurrency", v)
	}
	if v[1].flowsPerS != 150 || v[1].p99Ms != 20 || v[1].noopP99Ms != 2 || v[1].n != 2 {
		t.Fatalf("repeats at 4: %+v", v[1])
	}
}

func TestPlotDrawsSeries(t *testing.T) {
	img := plot([]*bench.Report{
		report(bench.KindVerify, 1, 100, 12, 1.5), report(bench.KindVerify, 4, 160, 40, 3),
		report(bench.KindLogin, 1, 90, 15, 0), report(bench.KindLogin, 4, 150, 50, 0),
	}, "")
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[img.RGBAAt(x, y)]++
		}
	}
	for kind, c := range kindColors {
		if kind != bench.KindMixed && counts[c] < 500 {
			t.Errorf("%s drawn with %d pixels of its colour", kind, counts[c])
		}
	}
	if counts[kindColors[bench.KindMixed]] != 0 {
		t.Error("a series that has no results was drawn")
	}
	if counts[black] < 1000 || counts[white] < b.Dx()*b.Dy()/2 {
		t.Errorf("axes and text %d pixels, background %d", counts[black], counts[white])
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i, r := range []*bench.Report{report(bench.KindMixed, 1, 10, 5, 1), report(bench.KindMixed, 64, 40, 500, 20)} {
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, "r"+string(rune('0'+i))+".json")
		os.WriteFile(f, buf.Bytes(), 0o644)
		files = append(files, f)
	}
	out := filepath.Join(dir, "img", "bench.png")
	if err := run(append([]string{"-o", out}, files...), io.Discard); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != width {
		t.Fatalf("output: %v, %v", img.Bounds(), err)
	}

	if err := run([]string{"-o", out}, io.Discard); err == nil {
		t.Error("no input files: no error")
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"hello": 1}`), 0o644)
	if err := run([]string{"-o", out, bad}, io.Discard); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("a file that is not a report: %v", err)
	}
}
