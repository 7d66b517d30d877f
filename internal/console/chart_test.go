package console

import (
	"strings"
	"testing"
	"time"
)

func TestNiceMax(t *testing.T) {
	for v, want := range map[int64]int64{0: 4, 1: 4, 2: 4, 4: 4, 5: 8, 9: 20, 150: 200, 1001: 2000, 30000: 40000} {
		if got := niceMax(v); got != want || got%4 != 0 {
			t.Errorf("niceMax(%d) = %d, want %d", v, got, want)
		}
	}
}

// TestCharts: the SVG names itself for screen readers, escapes names and
// carries a data table.
func TestCharts(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	html := string(timeChart("Requests", wideChart, []time.Time{t0, t0.Add(time.Minute)},
		[]series{{"POST /users/track", []int64{3, 5}}, {"<x>", []int64{0, 1}}}, func(_ int, t time.Time) string { return t.Format("15:04") }))
	for _, want := range []string{`role="img"`, `<title id="requests-t">Requests: 9 in all over 2 intervals</title>`, "&lt;x&gt;", "<td>5</td>", "10:01"} {
		if !strings.Contains(html, want) {
			t.Errorf("time chart lacks %q", want)
		}
	}
	if strings.Contains(html, "<x>") {
		t.Error("a series name was not escaped")
	}
	bars := string(barChart("Errors by status", []string{"400", "429"}, []int64{2, 7}))
	if !strings.Contains(bars, "Errors by status: 400: 2, 429: 7") {
		t.Errorf("bar chart title: %s", bars)
	}
	if got := string(barChart("x", nil, nil)); !strings.Contains(got, "None") {
		t.Errorf("empty bar chart: %s", got)
	}
}
