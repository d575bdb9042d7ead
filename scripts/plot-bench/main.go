// Command plot-bench draws numauth bench results as a PNG: throughput
// (flows/s) and the p99 latency of a whole flow against concurrency, one
// line per kind of flow, with the no-op endpoint's p99 dashed where the
// results have a baseline. It reads the JSON that numauth bench --json
// writes and needs nothing beyond the standard library.
//
//	go run ./scripts/plot-bench -o docs/img/bench.png results/*.json
package main

import (
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/numauth/numauth/internal/bench"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "plot-bench:", err)
		os.Exit(2)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("plot-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "bench.png", "output PNG file")
	title := fs.String("title", "", "title above the plot (default: from the results)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("give one or more result files written by numauth bench --json")
	}
	var reps []*bench.Report
	for _, path := range fs.Args() {
		rep, err := readFile(path)
		if err != nil {
			return err
		}
		reps = append(reps, rep)
	}
	img := plot(reps, *title)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	if dir := filepath.Dir(*out); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}

func readFile(path string) (*bench.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep, err := bench.ReadReport(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// point is one concurrency level of a series; repeated runs are averaged.
type point struct {
	conc      int
	flowsPerS float64
	p99Ms     float64
	noopP99Ms float64 // 0: no baseline
	n, nNoop  int
}

// series is one kind of flow.
type series struct {
	kind   bench.Kind
	color  color.RGBA
	points []point
}

var kindColors = map[bench.Kind]color.RGBA{
	bench.KindVerify: {31, 119, 180, 255},
	bench.KindLogin:  {230, 110, 10, 255},
	bench.KindMixed:  {44, 160, 44, 255},
}

// collect groups the reports by kind and concurrency.
func collect(reps []*bench.Report) []series {
	byKind := map[bench.Kind]map[int]*point{}
	for _, r := range reps {
		m := byKind[r.Kind]
		if m == nil {
			m = map[int]*point{}
			byKind[r.Kind] = m
		}
		p := m[r.Concurrency]
		if p == nil {
			p = &point{conc: r.Concurrency}
			m[r.Concurrency] = p
		}
		p.flowsPerS += r.FlowsPerSecond
		p.p99Ms += r.Flow.P99Ms
		p.n++
		if r.Baseline != nil {
			p.noopP99Ms += r.Baseline.Latency.P99Ms
			p.nNoop++
		}
	}
	var out []series
	for kind, m := range byKind {
		s := series{kind: kind, color: cmp.Or(kindColors[kind], color.RGBA{120, 60, 160, 255})}
		for _, p := range m {
			p.flowsPerS /= float64(p.n)
			p.p99Ms /= float64(p.n)
			if p.nNoop > 0 {
				p.noopP99Ms /= float64(p.nNoop)
			}
			s.points = append(s.points, *p)
		}
		slices.SortFunc(s.points, func(a, b point) int { return cmp.Compare(a.conc, b.conc) })
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b series) int { return cmp.Compare(a.kind, b.kind) })
	return out
}

// Layout, in pixels.
const (
	width      = 900
	panelH     = 380
	headerH    = 80
	marginL    = 90
	marginR    = 30
	panelTop   = 40 // panel title above the plot area
	panelBelow = 70 // tick labels and the axis label under the plot area
	scale      = 2  // text scale of labels
)

var (
	white = color.RGBA{255, 255, 255, 255}
	black = color.RGBA{30, 30, 30, 255}
	grid  = color.RGBA{225, 225, 225, 255}
	gray  = color.RGBA{120, 120, 120, 255}
)

// plot draws the two panels.
func plot(reps []*bench.Report, title string) *image.RGBA {
	ss := collect(reps)
	img := image.NewRGBA(image.Rect(0, 0, width, headerH+2*panelH))
	fillRect(img, 0, 0, width, img.Bounds().Dy(), white)
	if title == "" {
		title = "NUMAUTH BENCH"
		if len(reps) > 0 {
			title += fmt.Sprintf(" - %d CPUS, SERVER AND BENCH ON ONE MACHINE", reps[0].CPUs)
		}
	}
	drawText(img, (width-textWidth(title, scale))/2, 16, title, scale, black)

	var concs []int
	for _, s := range ss {
		for _, p := range s.points {
			concs = append(concs, p.conc)
		}
	}
	slices.Sort(concs)
	concs = slices.Compact(concs)

	drawLegend(img, 50, ss)
	top := headerH
	drawPanel(img, top, "THROUGHPUT (FLOWS/S)", concs, ss, false)
	drawPanel(img, top+panelH, "FLOW P99 LATENCY (MS, LOG SCALE)", concs, ss, true)
	return img
}

// drawPanel draws one panel whose area starts at y0: flows/s, or (latency)
// the flow p99 with the no-op p99 dashed.
func drawPanel(img *image.RGBA, y0 int, name string, concs []int, ss []series, latency bool) {
	x0, x1 := marginL, width-marginR
	py0, py1 := y0+panelTop, y0+panelH-panelBelow
	drawText(img, x0, y0+10, name, scale, black)

	value := func(p point) float64 {
		if latency {
			return p.p99Ms
		}
		return p.flowsPerS
	}
	var vals []float64
	for _, s := range ss {
		for _, p := range s.points {
			vals = append(vals, value(p))
			if latency && p.nNoop > 0 {
				vals = append(vals, p.noopP99Ms)
			}
		}
	}
	// Throughput on a linear axis from 0; latency, which spans orders of
	// magnitude between the no-op and a loaded flow, on a log axis.
	var ax yAxis
	if latency {
		ax = logAxis(vals)
	} else {
		ax = linearAxis(vals)
	}
	ys := func(v float64) int { return py1 - int(math.Round(ax.frac(v)*float64(py1-py0))) }

	// X: log2 of concurrency, padded so the end points sit inside the frame.
	lo, hi := 1.0, 2.0
	if len(concs) > 0 {
		lo, hi = math.Log2(float64(concs[0])), math.Log2(float64(concs[len(concs)-1]))
	}
	if hi-lo < 1 {
		hi = lo + 1
	}
	pad := (hi - lo) * 0.06
	xs := func(c int) int {
		f := (math.Log2(float64(c)) - lo + pad) / (hi - lo + 2*pad)
		return x0 + int(math.Round(f*float64(x1-x0)))
	}

	// Grid and Y ticks.
	for _, t := range ax.ticks {
		y := ys(t.v)
		fillRect(img, x0, y, x1-x0, 1, grid)
		if t.label != "" {
			drawText(img, x0-10-textWidth(t.label, scale), y-glyphH*scale/2, t.label, scale, black)
		}
	}
	// X ticks at each concurrency measured.
	for _, c := range concs {
		x := xs(c)
		fillRect(img, x, py0, 1, py1-py0, grid)
		fillRect(img, x, py1, 1, 6, black)
		label := strconv.Itoa(c)
		drawText(img, x-textWidth(label, scale)/2, py1+12, label, scale, black)
	}
	axis := "CONCURRENCY (FLOWS UNDER WAY)"
	drawText(img, (x0+x1-textWidth(axis, scale))/2, py1+40, axis, scale, black)
	// Frame.
	fillRect(img, x0, py0, 1, py1-py0+1, black)
	fillRect(img, x0, py1, x1-x0, 1, black)

	// Series: the flow as a solid line with its values, the no-op dashed.
	for _, s := range ss {
		for i, p := range s.points {
			x, y := xs(p.conc), ys(value(p))
			if i > 0 {
				q := s.points[i-1]
				drawLine(img, xs(q.conc), ys(value(q)), x, y, 3, s.color, 0)
			}
			fillRect(img, x-4, y-4, 9, 9, s.color)
			drawText(img, x+7, y-glyphH-8, formatValue(value(p)), 1, s.color)
		}
		if !latency {
			continue
		}
		var prev *point
		for i := range s.points {
			p := &s.points[i]
			if p.nNoop == 0 {
				prev = nil
				continue
			}
			if prev != nil {
				drawLine(img, xs(prev.conc), ys(prev.noopP99Ms), xs(p.conc), ys(p.noopP99Ms), 2, s.color, 8)
			}
			fillRect(img, xs(p.conc)-2, ys(p.noopP99Ms)-2, 5, 5, s.color)
			prev = p
		}
	}
}

// drawLegend draws one row of legend centred at y: a solid sample per
// kind, and a dashed one for the no-op baseline when there is one.
func drawLegend(img *image.RGBA, y int, ss []series) {
	type item struct {
		label  string
		c      color.RGBA
		dashed bool
	}
	var items []item
	baseline := false
	for _, s := range ss {
		items = append(items, item{strings.ToUpper(string(s.kind)) + " FLOWS", s.color, false})
		for _, p := range s.points {
			baseline = baseline || p.nNoop > 0
		}
	}
	if baseline {
		items = append(items, item{"NO-OP P99 (DASHED)", gray, true})
	}
	const sample, gap = 36, 28
	total := 0
	for _, it := range items {
		total += sample + 8 + textWidth(it.label, scale) + gap
	}
	x := (width - total + gap) / 2
	for _, it := range items {
		dash := 0
		if it.dashed {
			dash = 6
		}
		drawLine(img, x, y+glyphH, x+sample, y+glyphH, 3, it.c, dash)
		x += sample + 8
		drawText(img, x, y, it.label, scale, it.c)
		x += textWidth(it.label, scale) + gap
	}
}

// yAxis maps values to [0, 1] of the plot height and has ticks.
type yAxis struct {
	frac  func(v float64) float64
	ticks []tick
}

type tick struct {
	v     float64
	label string // "" for a grid line alone
}

// linearAxis runs from 0 to a nice top above the largest value.
func linearAxis(vals []float64) yAxis {
	var vmax float64
	for _, v := range vals {
		vmax = max(vmax, v)
	}
	step, top := niceScale(vmax)
	ax := yAxis{frac: func(v float64) float64 { return v / top }}
	for v := 0.0; v <= top+step/2; v += step {
		ax.ticks = append(ax.ticks, tick{v, formatTick(v, step)})
	}
	return ax
}

// logAxis runs over whole decades around the positive values, labelled at
// 1, 2 and 5 × 10^k.
func logAxis(vals []float64) yAxis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if v > 0 && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 1, 10
	}
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi <= dlo {
		dhi = dlo + 1
	}
	ax := yAxis{frac: func(v float64) float64 {
		if v <= 0 {
			return 0
		}
		return (math.Log10(v) - dlo) / (dhi - dlo)
	}}
	for d := dlo; d <= dhi; d++ {
		for _, m := range []float64{1, 2, 5} {
			if d == dhi && m > 1 {
				break
			}
			v := m * math.Pow(10, d)
			ax.ticks = append(ax.ticks, tick{v, formatTick(v, math.Pow(10, min(d, 0)))})
		}
	}
	return ax
}

// niceScale returns a tick step of 1, 2 or 5 × 10^k giving about five
// ticks, and the top of the axis (a multiple of the step, at least vmax).
func niceScale(vmax float64) (step, top float64) {
	if !(vmax > 0) || math.IsInf(vmax, 0) {
		return 1, 5
	}
	raw := vmax / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	top = math.Ceil(vmax/step) * step
	if top < vmax*1.05 { // room above the highest point for its label
		top += step
	}
	return step, top
}

// formatTick prints a tick value with as many decimals as the step needs.
func formatTick(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step)))
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// formatValue prints a point's value with three significant digits or so.
func formatValue(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// fillRect fills w×h pixels from (x, y), clipped to the image.
func fillRect(img *image.RGBA, x, y, w, h int, c color.RGBA) {
	r := image.Rect(x, y, x+w, y+h).Intersect(img.Bounds())
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			img.SetRGBA(px, py, c)
		}
	}
}

// drawLine draws a line of the given thickness from (x0, y0) to (x1, y1)
// (Bresenham), dashed with dash-pixel dashes and gaps when dash > 0.
func drawLine(img *image.RGBA, x0, y0, x1, y1, thick int, c color.RGBA, dash int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for i := 0; ; i++ {
		if dash == 0 || (i/dash)%2 == 0 {
			fillRect(img, x0-thick/2, y0-thick/2, thick, thick, c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		e2 := 2 * e
		if e2 >= dy {
			e += dy
			x0 += sx
		}
		if e2 <= dx {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int { return max(v, -v) }

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
