package console

import (
	"cmp"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// usageBucket is the width of a usage chart's points for each range.
var usageBucket = map[string]time.Duration{"1h": time.Minute, "24h": time.Hour, "7d": 6 * time.Hour}

// usageSeries is how many endpoints the requests chart draws; the rest
// are summed as "other endpoints".
const usageSeries = 5

type routeRow struct {
	Route                  string
	Total, Errors, Limited int64
	Share                  string // of the busiest endpoint, percent
}

func (h *Handler) usagePage(w http.ResponseWriter, r *http.Request) {
	rng, d := rangeOf(r.URL.Query().Get("range"), "24h")
	if _, ok := usageBucket[rng]; !ok {
		rng, d = rangeOf("24h", "24h")
	}
	step := usageBucket[rng]
	now := h.o.Now().UTC()
	end := now.Truncate(step).Add(step)
	start := end.Add(-d)
	counts, err := h.o.Store.APIUsageSince(r.Context(), start, step)
	v := view{Title: "API Usage", Nav: "usage"}
	if err != nil {
		h.fail(w, r, "usage", v, err)
		return
	}
	n := int(d / step)
	buckets := make([]time.Time, n)
	for i := range buckets {
		buckets[i] = start.Add(time.Duration(i) * step)
	}
	index := func(t time.Time) int {
		i := int(t.Sub(start) / step)
		if i < 0 || i >= n {
			return -1
		}
		return i
	}
	byRoute := map[string][]int64{}
	rows := map[string]*routeRow{}
	byStatus := map[int]int64{}
	limited := make([]int64, n)
	var total, errs, lim int64
	for _, c := range counts {
		i := index(c.Minute)
		if i < 0 {
			continue
		}
		if byRoute[c.Route] == nil {
			byRoute[c.Route] = make([]int64, n)
			rows[c.Route] = &routeRow{Route: c.Route}
		}
		byRoute[c.Route][i] += c.Count
		row := rows[c.Route]
		row.Total += c.Count
		total += c.Count
		if c.Status >= 400 {
			row.Errors += c.Count
			errs += c.Count
			byStatus[c.Status] += c.Count
		}
		if c.Status == http.StatusTooManyRequests {
			row.Limited += c.Count
			lim += c.Count
			limited[i] += c.Count
		}
	}
	var routes []routeRow
	for _, row := range rows {
		routes = append(routes, *row)
	}
	slices.SortFunc(routes, func(a, b routeRow) int { return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Route, b.Route)) })
	for i := range routes {
		routes[i].Share = strconv.FormatFloat(100*float64(routes[i].Total)/float64(routes[0].Total), 'f', 1, 64)
	}
	var ss []series
	other := make([]int64, n)
	for i, row := range routes {
		if i < usageSeries {
			ss = append(ss, series{row.Route, byRoute[row.Route]})
			continue
		}
		for j, c := range byRoute[row.Route] {
			other[j] += c
		}
	}
	if len(routes) > usageSeries {
		ss = append(ss, series{"other endpoints", other})
	}
	if len(ss) == 0 {
		ss = []series{{"requests", make([]int64, n)}}
	}
	// The x axis marks every 10 minutes (last hour), every 4 hours (last
	// day) or each day at midnight UTC (last week).
	label := func(i int, t time.Time) string {
		switch {
		case step == time.Minute && t.Minute()%10 == 0, step == time.Hour && t.Hour()%4 == 0:
			return t.Format("15:04")
		case step > time.Hour && t.Hour() == 0:
			return t.Format("Jan 2")
		}
		return ""
	}
	var statuses []string
	var statusCounts []int64
	for _, s := range slices.Sorted(func(yield func(int) bool) {
		for s := range byStatus {
			if !yield(s) {
				return
			}
		}
	}) {
		statuses = append(statuses, strconv.Itoa(s))
		statusCounts = append(statusCounts, byStatus[s])
	}
	v.Data = struct {
		Ranges                                   []option
		Range                                    string
		Total, Errors, Limited                   int64
		RequestsChart, StatusChart, LimitedChart template.HTML
		Routes                                   []routeRow
	}{
		Ranges: rangeOptions(3), Range: rng, Total: total, Errors: errs, Limited: lim,
		RequestsChart: timeChart("Requests per endpoint", wideChart, buckets, ss, label),
		StatusChart:   barChart("Errors by status", statuses, statusCounts),
		LimitedChart:  timeChart("Rate-limited requests", halfChart, buckets, []series{{"429 Rate Limited", limited}}, label),
		Routes:        routes,
	}
	h.render(w, r, http.StatusOK, "usage", v)
}
