package console

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Charts are drawn on the server as inline SVG: no chart library, no
// script, and a screen reader gets the figure's summary and a data table.

// palette colours series; each keeps a 3:1 contrast against white.
var palette = []string{"#4a2fbd", "#0b7a75", "#c2410c", "#9d174d", "#1d4ed8", "#6b7280", "#15803d", "#a16207"}

// series is one line of a time chart.
type series struct {
	Name   string
	Values []int64 // one per bucket
}

// Chart sizes: full width, and half width (two side by side).
const (
	wideChart, halfChart = 760, 420
)

const (
	chartH     = 220
	padL, padR = 48, 12
	padT, padB = 10, 28
)

// niceMax is a chart's top: four grid steps of 1, 2 or 5 times a power of
// ten, the smallest that holds v, so that every grid line is a whole
// number.
func niceMax(v int64) int64 {
	need := (max(v, 1) + 3) / 4 // the smallest step that fits
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= need {
				return 4 * m * p
			}
		}
	}
}

// timeChart draws series over buckets as lines, with the y axis from 0.
// label names the buckets the x axis marks ("" for the others).
func timeChart(title string, width int, buckets []time.Time, ss []series, label func(i int, t time.Time) string) template.HTML {
	chartW := width
	var peak, total int64
	for _, s := range ss {
		for _, v := range s.Values {
			peak = max(peak, v)
			total += v
		}
	}
	top := niceMax(peak)
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><svg viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t">`, chartW, chartH, idOf(title))
	fmt.Fprintf(&b, `<title id="%s-t">%s: %d in all over %d intervals</title>`, idOf(title), template.HTMLEscapeString(title), total, len(buckets))
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	// Grid and y labels.
	for i := 0; i <= 4; i++ {
		y := float64(padT) + plotH*float64(i)/4
		v := top - top*int64(i)/4
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e3e3ec"/>`, padL, chartW-padR, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#545468">%d</text>`, padL-6, y+4, v)
	}
	n := len(buckets)
	x := func(i int) float64 {
		if n <= 1 {
			return float64(padL) + plotW/2
		}
		return float64(padL) + plotW*float64(i)/float64(n-1)
	}
	for i, t := range buckets {
		if l := label(i, t); l != "" {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#545468">%s</text>`, x(i), chartH-8, template.HTMLEscapeString(l))
		}
	}
	for si, s := range ss {
		color := palette[si%len(palette)]
		var pts []string
		for i, v := range s.Values {
			y := float64(padT) + plotH - plotH*float64(v)/float64(top)
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, color, strings.Join(pts, " "))
	}
	b.WriteString(`</svg>`)
	if len(ss) > 1 {
		b.WriteString(`<ul class="legend">`)
		for si, s := range ss {
			fmt.Fprintf(&b, `<li><span class="swatch" style="background:%s"></span>%s</li>`, palette[si%len(palette)], template.HTMLEscapeString(s.Name))
		}
		b.WriteString(`</ul>`)
	}
	b.WriteString(`<details><summary>Data table</summary><table><thead><tr><th scope="col">Time</th>`)
	for _, s := range ss {
		fmt.Fprintf(&b, `<th scope="col">%s</th>`, template.HTMLEscapeString(s.Name))
	}
	b.WriteString(`</tr></thead><tbody>`)
	for i, t := range buckets {
		fmt.Fprintf(&b, `<tr><th scope="row">%s</th>`, t.UTC().Format("2006-01-02 15:04 UTC"))
		for _, s := range ss {
			fmt.Fprintf(&b, `<td>%d</td>`, s.Values[i])
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table></details></figure>`)
	return template.HTML(b.String())
}

// barChart draws one bar per label.
func barChart(title string, labels []string, values []int64) template.HTML {
	if len(labels) == 0 {
		return template.HTML(`<p class="empty">None in this range.</p>`)
	}
	var peak int64
	for _, v := range values {
		peak = max(peak, v)
	}
	top := niceMax(peak)
	h := 28*len(labels) + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><svg viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t">`, halfChart, h, idOf(title))
	var parts []string
	for i, l := range labels {
		parts = append(parts, fmt.Sprintf("%s: %d", l, values[i]))
	}
	fmt.Fprintf(&b, `<title id="%s-t">%s: %s</title>`, idOf(title), template.HTMLEscapeString(title), template.HTMLEscapeString(strings.Join(parts, ", ")))
	barW := float64(halfChart - 130)
	for i, l := range labels {
		y := 6 + 28*i
		w := barW * float64(values[i]) / float64(top)
		fmt.Fprintf(&b, `<text x="70" y="%d" font-size="12" text-anchor="end" fill="#1b1b29">%s</text>`, y+15, template.HTMLEscapeString(l))
		fmt.Fprintf(&b, `<rect x="78" y="%d" width="%.1f" height="20" rx="3" fill="%s"/>`, y, max(w, 1), palette[i%len(palette)])
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" fill="#1b1b29">%d</text>`, 84+w, y+15, values[i])
	}
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}

func idOf(title string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return '-'
	}, title)
}
