package console

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/config"
)

type option struct{ Value, Label string }

var lookupKinds = []option{
	{"external_id", "External ID"}, {"alias", "User alias"}, {"email", "Email"}, {"phone", "Phone"}, {"braze_id", "Braze ID"},
}

type attr struct{ Name, Value string }

type summary struct {
	Name        string
	Count       int64
	First, Last time.Time
}

// attrs lists a profile's attributes by name, each value as JSON.
func attrs(m map[string]any) []attr {
	var out []attr
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b, _ := json.Marshal(m[k])
		out = append(out, attr{k, string(b)})
	}
	return out
}

func summaries(m map[string]*brazen.Summary) []summary {
	var out []summary
	for _, k := range slices.Sorted(maps.Keys(m)) {
		s := m[k]
		out = append(out, summary{k, s.Count, s.First, s.Last})
	}
	return out
}

type usersData struct {
	Kinds             []option
	By, Q             string
	Profile           *brazen.Profile
	Standard, Custom  []attr
	Events, Purchases []summary
	Messages          []brazen.MessageEvent
}

func (h *Handler) usersPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := usersData{Kinds: lookupKinds, By: q.Get("by"), Q: strings.TrimSpace(q.Get("q"))}
	if d.By == "" {
		d.By = "external_id"
	}
	v := view{Title: "Users", Nav: "users", Data: &d}
	if d.Q == "" {
		h.render(w, r, http.StatusOK, "users", v)
		return
	}
	var id brazen.Identifier
	switch d.By {
	case "external_id":
		id.ExternalID = d.Q
	case "braze_id":
		id.BrazeID = d.Q
	case "email":
		id.Email = d.Q
	case "phone":
		id.Phone = d.Q
	case "alias":
		label, name, ok := strings.Cut(d.Q, ":")
		if !ok || label == "" || name == "" {
			v.Error = "Write a user alias as label:name, e.g. crm:12345."
			h.render(w, r, http.StatusBadRequest, "users", v)
			return
		}
		id.Alias = &brazen.Alias{Name: name, Label: label}
	default:
		v.Error = "Look up by external ID, user alias, email, phone or Braze ID."
		h.render(w, r, http.StatusBadRequest, "users", v)
		return
	}
	p, err := h.o.Users.Resolve(r.Context(), id)
	if err != nil {
		h.fail(w, r, "users", v, err)
		return
	}
	if p == nil {
		v.Error = "No user with this identifier."
		h.render(w, r, http.StatusNotFound, "users", v)
		return
	}
	d.Profile = p
	d.Standard, d.Custom = attrs(p.Standard), attrs(p.Custom)
	d.Events, d.Purchases = summaries(p.Events), summaries(p.Purchases)
	if d.Messages, err = h.o.Store.MessageEvents(r.Context(), brazen.MessageEventFilter{BrazeID: p.BrazeID}, 50); err != nil {
		h.fail(w, r, "users", v, err)
		return
	}
	h.render(w, r, http.StatusOK, "users", v)
}

// timeRanges are the console's time filters.
var timeRanges = []struct {
	option
	d time.Duration
}{
	{option{"1h", "Last hour"}, time.Hour}, {option{"24h", "Last 24 hours"}, 24 * time.Hour},
	{option{"7d", "Last 7 days"}, 7 * 24 * time.Hour}, {option{"30d", "Last 30 days"}, 30 * 24 * time.Hour},
}

func rangeOf(v, def string) (string, time.Duration) {
	for _, r := range timeRanges {
		if r.Value == v {
			return v, r.d
		}
	}
	return rangeOf(def, def)
}

func rangeOptions(n int) []option {
	var out []option
	for _, r := range timeRanges[:n] {
		out = append(out, r.option)
	}
	return out
}

type stat struct {
	N     int
	Label string
}

func (h *Handler) messagesPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, d := rangeOf(q.Get("since"), "24h")
	f := brazen.MessageEventFilter{Channel: q.Get("channel"), Outcome: q.Get("outcome"), DispatchID: q.Get("dispatch"), Since: h.o.Now().Add(-d)}
	data := struct {
		Queue                   []stat
		Channels, Outcomes      []string
		Ranges                  []option
		Channel, Outcome, Since string
		Events                  []brazen.MessageEvent
		More                    string
		Sends                   []sendRow
		Dispatch                string
	}{Dispatch: f.DispatchID, Channels: config.SendChannels, Outcomes: brazen.Outcomes, Ranges: rangeOptions(4), Channel: f.Channel, Outcome: f.Outcome, Since: since}
	v := view{Title: "Message Activity", Nav: "messages", Data: &data}
	if f.Channel != "" && !slices.Contains(config.SendChannels, f.Channel) {
		v.Error = "Choose a channel from the list."
		f.Channel, data.Channel = "", ""
	}
	if f.Outcome != "" && !slices.Contains(brazen.Outcomes, f.Outcome) {
		v.Error = "Choose a status from the list."
		f.Outcome, data.Outcome = "", ""
	}
	if b := q.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			v.Error = "The page link is not valid."
		} else {
			f.BeforeID = n
		}
	}
	counts, err := h.o.Store.JobCounts(r.Context(), "")
	if err != nil {
		h.fail(w, r, "messages", v, err)
		return
	}
	data.Queue = []stat{{counts[brazen.JobPending], "waiting"}, {counts[brazen.JobLeased], "being delivered"},
		{counts[brazen.JobDone], "delivered jobs"}, {counts[brazen.JobDead], "failed for good"}}
	if data.Sends, err = h.recentSends(r); err != nil {
		h.fail(w, r, "messages", v, err)
		return
	}
	const pageSize = 100
	if data.Events, err = h.o.Store.MessageEvents(r.Context(), f, pageSize+1); err != nil {
		h.fail(w, r, "messages", v, err)
		return
	}
	if len(data.Events) > pageSize { // one more exists: link to the next page
		data.Events = data.Events[:pageSize]
		more := q
		more.Set("before", strconv.FormatInt(data.Events[pageSize-1].ID, 10))
		data.More = "/messages?" + more.Encode()
	}
	status := http.StatusOK
	if v.Error != "" {
		status = http.StatusBadRequest
	}
	h.render(w, r, status, "messages", v)
}

// sendRow is one recent dispatch with its outcome counts.
type sendRow struct {
	brazen.Dispatch
	Channels string
	Counts   []int64 // by brazen.Outcomes
}

// recentSends are the newest dispatches, each with its counters.
func (h *Handler) recentSends(r *http.Request) ([]sendRow, error) {
	ds, err := h.o.Store.Dispatches(r.Context(), 10)
	if err != nil {
		return nil, err
	}
	var rows []sendRow
	for _, d := range ds {
		stats, err := h.o.Store.MessageStats(r.Context(), d.ID, "", "", d.CreatedAt)
		if err != nil {
			return nil, err
		}
		row := sendRow{Dispatch: d, Counts: make([]int64, len(brazen.Outcomes))}
		var channels []string
		for _, s := range stats {
			if i := slices.Index(brazen.Outcomes, s.Outcome); i >= 0 {
				row.Counts[i] += s.Count
			}
			if !slices.Contains(channels, s.Channel) {
				channels = append(channels, s.Channel)
			}
		}
		slices.Sort(channels)
		row.Channels = strings.Join(channels, ", ")
		rows = append(rows, row)
	}
	return rows, nil
}

func (h *Handler) instancePage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "instance", view{Title: "Instance", Nav: "instance"})
}
