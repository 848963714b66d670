package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Grafana's dark theme.
var (
	background = rgb(0x111217)
	panelBg    = rgb(0x181b1f)
	border     = rgb(0x2c3235)
	grid       = rgb(0x24272c)
	text       = rgb(0xccccdc)
	muted      = rgb(0x8e8e9a)
	named      = map[string]color.RGBA{
		"green": rgb(0x73bf69), "blue": rgb(0x5794f2), "orange": rgb(0xff9830),
		"yellow": rgb(0xfade2a), "red": rgb(0xf2495c), "purple": rgb(0xb877d9),
	}
	classic = []color.RGBA{rgb(0x7eb26d), rgb(0xeab839), rgb(0x6ed0e0), rgb(0xef843c), rgb(0xe24d42), rgb(0x1f78c1), rgb(0xba43a9), rgb(0x705da0)}
)

func rgb(v uint32) color.RGBA {
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
}

const (
	width    = 1600
	header   = 64
	margin   = 8
	panelH   = 330
	cols     = 2
	legendLH = 18
)

type fonts struct{ title, body, small, big font.Face }

func loadFonts() (fonts, error) {
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return fonts{}, err
	}
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return fonts{}, err
	}
	face := func(f *opentype.Font, size float64) font.Face {
		fc, _ := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
		return fc
	}
	return fonts{title: face(bold, 14), body: face(regular, 12), small: face(regular, 11), big: face(bold, 22)}, nil
}

func render(path string, panels []panelData) error {
	f, err := loadFonts()
	if err != nil {
		return err
	}
	rows := (len(panels) + cols - 1) / cols
	height := header + rows*(panelH+margin) + margin
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	fill(img, img.Bounds(), background)

	var t0, t1 float64 = math.Inf(1), math.Inf(-1)
	for _, p := range panels {
		for _, s := range p.Series {
			if len(s.T) > 0 {
				t0, t1 = min(t0, s.T[0]), max(t1, s.T[len(s.T)-1])
			}
		}
	}
	label(img, f.big, text, margin+8, 34, "payhook webhooks")
	label(img, f.body, muted, margin+8, 54, fmt.Sprintf("provider: All   ·   %s   ·   Prometheus 2.42, scraped every 1s, $__rate_interval = 10s",
		time.Duration((t1-t0)*float64(time.Second)).Round(time.Second)))
	note := "Drawn by payhook's tools/dashboard from a real Prometheus's answers to payhook.json's queries: not a Grafana screenshot"
	label(img, f.small, muted, width-margin-8-textWidth(f.small, note), 54, note)

	panelW := (width - margin*(cols+1)) / cols
	for i, p := range panels {
		x := margin + (i%cols)*(panelW+margin)
		y := header + (i/cols)*(panelH+margin)
		drawPanel(img, f, image.Rect(x, y, x+panelW, y+panelH), p, t0, t1)
	}

	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(out, img); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// order puts the series of known label values in their usual order, the
// others by name.
var order = []string{"processed", "duplicate", "rejected", "in_flight", "failed", "pending", "running", "done", "retry", "dead", "verify", "store", "confirm", "handler"}

func rank(name string) int {
	if i := slices.Index(order, name); i >= 0 {
		return i
	}
	return len(order)
}

func drawPanel(img *image.RGBA, f fonts, r image.Rectangle, p panelData, t0, t1 float64) {
	fill(img, r, panelBg)
	outline(img, r, border)
	label(img, f.title, text, r.Min.X+10, r.Min.Y+22, p.Title)

	ss := slices.Clone(p.Series)
	slices.SortStableFunc(ss, func(a, b series) int {
		if ra, rb := rank(a.Name), rank(b.Name); ra != rb {
			return ra - rb
		}
		return strings.Compare(a.Name, b.Name)
	})
	colors := make([]color.RGBA, len(ss))
	next := 0
	for i, s := range ss {
		if c, ok := named[p.Colors[s.Name]]; ok {
			colors[i] = c
			continue
		}
		colors[i] = classic[next%len(classic)]
		next++
	}

	// The legend's lines, from the bottom up.
	legendLines := layoutLegend(f.body, ss, r.Dx()-20)
	plot := image.Rect(r.Min.X+72, r.Min.Y+38, r.Max.X-16, r.Max.Y-22-len(legendLines)*legendLH-6)

	// Values on the time grid, stacked when the panel stacks.
	step := 1.0
	n := int(math.Round((t1-t0)/step)) + 1
	vals := make([][]float64, len(ss))
	for i, s := range ss {
		vals[i] = make([]float64, n)
		for j := range vals[i] {
			vals[i][j] = math.NaN()
		}
		for j, t := range s.T {
			if k := int(math.Round((t - t0) / step)); k >= 0 && k < n {
				vals[i][k] = s.V[j]
			}
		}
	}
	lower := make([][]float64, len(ss))
	if p.Stacked {
		acc := make([]float64, n)
		for i := range vals {
			lower[i] = slices.Clone(acc)
			for k, v := range vals[i] {
				if !math.IsNaN(v) {
					acc[k] += v
					vals[i][k] = acc[k]
				}
			}
		}
	}
	top := 0.0
	for _, v := range vals {
		for _, x := range v {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				top = max(top, x)
			}
		}
	}
	ticks, top := niceTicks(top)
	if p.Unit == "percentunit" && top > 1 && top <= 1.25 {
		ticks, top = []float64{0, .25, .5, .75, 1}, 1
	}

	// The grid and the axes' labels.
	px := func(k int) float64 { return float64(plot.Min.X) + float64(k)/float64(max(n-1, 1))*float64(plot.Dx()) }
	py := func(v float64) float64 { return float64(plot.Max.Y) - v/top*float64(plot.Dy()) }
	for _, v := range ticks {
		y := int(math.Round(py(v)))
		hline(img, plot.Min.X, plot.Max.X, y, grid)
		s := format(v, p.Unit)
		label(img, f.small, muted, plot.Min.X-8-textWidth(f.small, s), y+4, s)
	}
	first := math.Ceil(t0/30) * 30
	for t := first; t <= t1; t += 30 {
		x := int(math.Round(px(int(math.Round(t - t0)))))
		vline(img, x, plot.Min.Y, plot.Max.Y, grid)
		s := time.Unix(int64(t), 0).UTC().Format("15:04:05")
		label(img, f.small, muted, x-textWidth(f.small, s)/2, plot.Max.Y+16, s)
	}

	// The series: a translucent fill under stacked ones, then the lines.
	if p.Stacked {
		for i := range vals {
			area(img, vals[i], lower[i], px, py, withAlpha(colors[i], 0x40))
		}
	}
	for i := range vals {
		polyline(img, vals[i], px, py, colors[i], 1.6)
	}
	if len(ss) == 0 {
		s := "No data"
		label(img, f.body, muted, plot.Min.X+plot.Dx()/2-textWidth(f.body, s)/2, plot.Min.Y+plot.Dy()/2, s)
	}

	// The legend.
	y := r.Max.Y - 10 - (len(legendLines)-1)*legendLH
	for _, line := range legendLines {
		x := r.Min.X + 12
		for _, i := range line {
			fill(img, image.Rect(x, y-6, x+14, y-2), colors[i])
			label(img, f.body, text, x+19, y, ss[i].Name)
			x += 19 + textWidth(f.body, ss[i].Name) + 18
		}
		y += legendLH
	}
}

// layoutLegend breaks the series' names into lines of at most w pixels.
func layoutLegend(face font.Face, ss []series, w int) [][]int {
	var lines [][]int
	var line []int
	x := 0
	for i, s := range ss {
		iw := 19 + textWidth(face, s.Name) + 18
		if x+iw > w && len(line) > 0 {
			lines = append(lines, line)
			line, x = nil, 0
		}
		line = append(line, i)
		x += iw
	}
	if len(line) > 0 {
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = [][]int{nil}
	}
	return lines
}

// niceTicks returns round tick values from 0 to above top, and the axis's
// top.
func niceTicks(top float64) ([]float64, float64) {
	if top <= 0 {
		top = 1
	}
	raw := top / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	var step float64
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; step >= raw {
			break
		}
	}
	var ticks []float64
	for v := 0.0; v <= top+step*1e-9 || len(ticks) < 2; v += step {
		ticks = append(ticks, v)
	}
	if last := ticks[len(ticks)-1]; last < top*1.02 {
		ticks = append(ticks, last+step)
	}
	return ticks, ticks[len(ticks)-1]
}

// format writes v in the panel's unit, as Grafana does.
func format(v float64, unit string) string {
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	round := func(x float64) float64 { return math.Round(x*100) / 100 }
	switch unit {
	case "reqps":
		return num(round(v)) + " req/s"
	case "percentunit":
		return num(round(v*100)) + "%"
	case "s":
		switch {
		case v == 0:
			return "0 s"
		case v < 1e-3:
			return num(round(v*1e6)) + " µs"
		case v < 1:
			return num(round(v*1e3)) + " ms"
		}
		return num(round(v)) + " s"
	}
	return num(round(v))
}

func withAlpha(c color.RGBA, a uint8) color.RGBA {
	// premultiplied, as image/color's RGBA is
	return color.RGBA{uint8(uint16(c.R) * uint16(a) / 0xff), uint8(uint16(c.G) * uint16(a) / 0xff), uint8(uint16(c.B) * uint16(a) / 0xff), a}
}

// polyline strokes the defined runs of vs, anti-aliased.
func polyline(img *image.RGBA, vs []float64, px func(int) float64, py func(float64) float64, c color.RGBA, w float64) {
	z := vector.NewRasterizer(img.Bounds().Dx(), img.Bounds().Dy())
	any := false
	for k := 1; k < len(vs); k++ {
		a, b := vs[k-1], vs[k]
		if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
			continue
		}
		segment(z, px(k-1), py(a), px(k), py(b), w)
		any = true
	}
	if any {
		z.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{})
	}
}

func segment(z *vector.Rasterizer, x0, y0, x1, y1, w float64) {
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	nx, ny := -dy/l*w/2, dx/l*w/2
	// extend each end by half the width, so that joints have no gaps
	ex, ey := dx/l*w/2, dy/l*w/2
	z.MoveTo(float32(x0+nx-ex), float32(y0+ny-ey))
	z.LineTo(float32(x1+nx+ex), float32(y1+ny+ey))
	z.LineTo(float32(x1-nx+ex), float32(y1-ny+ey))
	z.LineTo(float32(x0-nx-ex), float32(y0-ny-ey))
	z.ClosePath()
}

// area fills between lower (or 0) and upper over their defined runs.
func area(img *image.RGBA, upper, lower []float64, px func(int) float64, py func(float64) float64, c color.RGBA) {
	z := vector.NewRasterizer(img.Bounds().Dx(), img.Bounds().Dy())
	base := func(k int) float64 {
		if lower == nil {
			return 0
		}
		return lower[k]
	}
	any := false
	for k := 1; k < len(upper); k++ {
		if math.IsNaN(upper[k-1]) || math.IsNaN(upper[k]) {
			continue
		}
		z.MoveTo(float32(px(k-1)), float32(py(base(k-1))))
		z.LineTo(float32(px(k-1)), float32(py(upper[k-1])))
		z.LineTo(float32(px(k)), float32(py(upper[k])))
		z.LineTo(float32(px(k)), float32(py(base(k))))
		z.ClosePath()
		any = true
	}
	if any {
		z.DrawOp = draw.Over
		z.Draw(img, img.Bounds(), image.NewUniform(c), image.Point{})
	}
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func outline(img *image.RGBA, r image.Rectangle, c color.Color) {
	hline(img, r.Min.X, r.Max.X, r.Min.Y, c)
	hline(img, r.Min.X, r.Max.X, r.Max.Y-1, c)
	vline(img, r.Min.X, r.Min.Y, r.Max.Y, c)
	vline(img, r.Max.X-1, r.Min.Y, r.Max.Y, c)
}

func hline(img *image.RGBA, x0, x1, y int, c color.Color) {
	fill(img, image.Rect(x0, y, x1, y+1), c)
}

func vline(img *image.RGBA, x, y0, y1 int, c color.Color) {
	fill(img, image.Rect(x, y0, x+1, y1), c)
}

func label(img *image.RGBA, face font.Face, c color.Color, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

func textWidth(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}
