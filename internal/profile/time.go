package profile

import (
	"fmt"
	"time"
)

// TimeLayout is the form every date is stored in: profile dates
// (date_of_first_session, …) and nested {"$time": …} values.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// ParseTime parses a date in one of the formats Braze accepts for profile
// dates, custom attributes and event and purchase times:
//
//   - ISO 8601 / RFC 3339: 2020-05-28, 2020-05-28T12:00, 2020-05-28T12:00:00,
//     with an optional fraction (".123" or ",123"), a "T", "t" or space
//     between date and time, and an optional zone: Z, UTC, GMT, +01:00,
//     +0100, +01 or +1:00 (Braze's own examples use "+1:00");
//   - yyyy-MM-ddTHH:mm:ss:SSSZ (milliseconds after a colon);
//   - yyyy-MM-dd HH:mm:ss;
//   - MM/dd/yyyy (one- or two-digit month and day);
//   - ddd MMM dd HH:mm:ss[.SSS] TZD yyyy and its relatives: ctime
//     ("Thu May 28 12:00:00 2020"), Unix date ("… UTC 2020"), Ruby
//     ("… +0000 2020"), with a numeric month ("Thu 05 28 …") too, and
//     RFC 1123 ("Thu, 28 May 2020 12:00:00 GMT").
//
// A date without a zone is UTC; a date without a time is midnight. Zone
// abbreviations other than UTC, GMT and the North American ones (EST, EDT,
// CST, CDT, MST, MDT, PST, PDT) are refused, since they are ambiguous. The
// result is in UTC and its year lies in 0–9999.
func ParseTime(s string) (time.Time, error) {
	s = trimSpace(s)
	if s == "" || len(s) > 64 {
		return time.Time{}, errDate(s)
	}
	var t time.Time
	var ok bool
	switch c := s[0]; {
	case isDigit(c) && len(s) >= 10 && s[4] == '-':
		t, ok = parseISO(s)
	case isDigit(c):
		t, ok = parseSlashed(s)
	case isLetter(c):
		t, ok = parseCtime(s)
	}
	if !ok {
		return time.Time{}, errDate(s)
	}
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, errDate(s)
	}
	return t, nil
}

func errDate(s string) error {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Errorf("%q is not a date in a format Braze accepts", s)
}

// scanner reads a date string left to right.
type scanner struct {
	s string
	i int
}

func (p *scanner) done() bool { return p.i >= len(p.s) }

func (p *scanner) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

// accept consumes c if it is next.
func (p *scanner) accept(c byte) bool {
	if p.peek() == c && !p.done() {
		p.i++
		return true
	}
	return false
}

// num reads between min and max digits.
func (p *scanner) num(min, max int) (int, bool) {
	n, start := 0, p.i
	for p.i < len(p.s) && p.i-start < max && isDigit(p.s[p.i]) {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
	}
	return n, p.i-start >= min
}

func (p *scanner) rest() string { return p.s[p.i:] }

func parseISO(s string) (time.Time, bool) {
	p := &scanner{s: s}
	year, ok1 := p.num(4, 4)
	ok2 := p.accept('-')
	month, ok3 := p.num(2, 2)
	ok4 := p.accept('-')
	day, ok5 := p.num(2, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, false
	}
	var hour, minute, sec, nsec int
	loc := time.UTC
	if !p.done() {
		if c := p.peek(); c != 'T' && c != 't' && c != ' ' {
			return time.Time{}, false
		}
		p.i++
		var ok bool
		if hour, ok = p.num(2, 2); !ok || !p.accept(':') {
			return time.Time{}, false
		}
		if minute, ok = p.num(2, 2); !ok {
			return time.Time{}, false
		}
		if p.peek() == ':' && p.i+1 < len(s) && isDigit(s[p.i+1]) {
			p.i++
			if sec, ok = p.num(2, 2); !ok {
				return time.Time{}, false
			}
			// A fraction: ".123", ",123", or Braze's ":123".
			if c := p.peek(); (c == '.' || c == ',' || c == ':') && p.i+1 < len(s) && isDigit(s[p.i+1]) {
				p.i++
				start := p.i
				f, _ := p.num(1, 9)
				if p.i < len(s) && isDigit(s[p.i]) {
					return time.Time{}, false // more than nanoseconds
				}
				for d := p.i - start; d < 9; d++ {
					f *= 10
				}
				nsec = f
			}
		}
		for p.accept(' ') {
		}
		if loc, ok = parseZone(p.rest()); !ok {
			return time.Time{}, false
		}
	}
	return makeTime(year, month, day, hour, minute, sec, nsec, loc)
}

// parseZone reads a trailing zone designator; "" is UTC.
func parseZone(z string) (*time.Location, bool) {
	switch z {
	case "", "Z", "z", "UTC", "GMT":
		return time.UTC, true
	}
	sign := 1
	switch z[0] {
	case '+':
	case '-':
		sign = -1
	default:
		return nil, false
	}
	p := &scanner{s: z, i: 1}
	h, ok := p.num(1, 2)
	if !ok {
		return nil, false
	}
	m := 0
	if !p.done() {
		colon := p.accept(':')
		if m, ok = p.num(2, 2); !ok || !p.done() {
			return nil, false
		}
		if !colon && p.i != 5 { // "+100" is not a zone; "+0100" is
			return nil, false
		}
	}
	if h > 23 || m > 59 {
		return nil, false
	}
	return time.FixedZone("", sign*(h*3600+m*60)), true
}

// makeTime builds a time, refusing out-of-range fields instead of
// normalising them as time.Date does.
func makeTime(year, month, day, hour, minute, sec, nsec int, loc *time.Location) (time.Time, bool) {
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if t.Day() != day {
		return time.Time{}, false // 30 February
	}
	return t, true
}

// parseSlashed reads MM/dd/yyyy.
func parseSlashed(s string) (time.Time, bool) {
	p := &scanner{s: s}
	month, ok1 := p.num(1, 2)
	ok2 := p.accept('/')
	day, ok3 := p.num(1, 2)
	ok4 := p.accept('/')
	year, ok5 := p.num(4, 4)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && p.done()) {
		return time.Time{}, false
	}
	return makeTime(year, month, day, 0, 0, 0, 0, time.UTC)
}

// ctimeLayouts are Braze's "ddd MM dd HH:mm:ss.TZD YYYY" read generously.
// time.Parse accepts a fraction after the seconds without it being in the
// layout.
var ctimeLayouts = [...]string{
	"Mon Jan _2 15:04:05 -0700 2006",
	"Mon Jan _2 15:04:05 -07:00 2006",
	"Mon Jan _2 15:04:05 MST 2006",
	"Mon Jan _2 15:04:05 2006",
	"Mon 01 02 15:04:05 -0700 2006",
	"Mon 01 02 15:04:05 -07:00 2006",
	"Mon 01 02 15:04:05 MST 2006",
	"Mon 01 02 15:04:05 2006",
	"Mon, 02 Jan 2006 15:04:05 -0700",
	"Mon, 02 Jan 2006 15:04:05 MST",
}

// zoneAbbrevs are the abbreviations accepted besides UTC and GMT: common
// and unambiguous enough.
var zoneAbbrevs = map[string]int{
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
	"MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

func parseCtime(s string) (time.Time, bool) {
	for _, layout := range ctimeLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		name, off := t.Zone()
		if off != 0 || name == "UTC" || name == "GMT" || name == "" {
			return t, true
		}
		h, ok := zoneAbbrevs[name]
		if !ok {
			return time.Time{}, false
		}
		y, mo, d := t.Date()
		hh, mm, ss := t.Clock()
		return time.Date(y, mo, d, hh, mm, ss, t.Nanosecond(), time.FixedZone(name, h*3600)), true
	}
	return time.Time{}, false
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
