package bench

import (
	"math/rand/v2"
	"strconv"
)

// Track workloads for /users/track. Each builds request bodies by appending
// bytes (no encoding/json) so the load generator, which shares the machine
// with the server, stays cheap.

// Mix is a /users/track workload.
type Mix struct {
	Name    string
	Objects int                       // objects per request
	Body    func(r *rand.Rand) []byte // a random request
	Seq     func(n uint64) []byte     // request n of a fixed sequence, for preloading
}

func appendUser(b []byte, id int) []byte {
	b = append(b, `"external_id":"user-`...)
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, '"')
}

// appendAttrs appends an attributes object with n attributes: a few
// standard ones and custom strings, numbers, booleans and an increment.
func appendAttrs(b []byte, id, n int, r *rand.Rand) []byte {
	b = append(b, '{')
	b = appendUser(b, id)
	std := []string{`,"first_name":"Ada"`, `,"last_name":"Lovelace"`, `,"country":"GB"`, `,"gender":"F"`, `,"email_subscribe":"opted_in"`}
	for i := 0; i < n; i++ {
		if i < len(std) && i < n/2 {
			b = append(b, std[i]...)
			continue
		}
		b = append(b, `,"attr_`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":`...)
		switch i % 4 {
		case 0:
			b = append(b, `"value-`...)
			b = strconv.AppendInt(b, int64(r.IntN(1000)), 10)
			b = append(b, '"')
		case 1:
			b = strconv.AppendInt(b, int64(r.IntN(100000)), 10)
		case 2:
			b = strconv.AppendBool(b, r.IntN(2) == 0)
		case 3:
			b = append(b, `{"inc":1}`...)
		}
	}
	return append(b, '}')
}

var eventNames = []string{"viewed_item", "added_to_cart", "searched", "opened_app", "shared"}

func appendEvent(b []byte, id int, r *rand.Rand) []byte {
	b = append(b, '{')
	b = appendUser(b, id)
	b = append(b, `,"name":"`...)
	b = append(b, eventNames[r.IntN(len(eventNames))]...)
	b = append(b, `","time":"2026-11-20T10:00:00Z","properties":{"item":"sku-`...)
	b = strconv.AppendInt(b, int64(r.IntN(500)), 10)
	b = append(b, `","price":`...)
	b = strconv.AppendInt(b, int64(r.IntN(100)), 10)
	return append(b, `,"premium":true}}`...)
}

// MixA is one user per request: an attributes object with 10 attributes and
// three events, users drawn from users distinct ids.
func MixA(users int) Mix {
	return Mix{Name: "A", Objects: 4, Body: func(r *rand.Rand) []byte {
		id := r.IntN(users)
		b := make([]byte, 0, 1024)
		b = append(b, `{"attributes":[`...)
		b = appendAttrs(b, id, 10, r)
		b = append(b, `],"events":[`...)
		for i := range 3 {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendEvent(b, id, r)
		}
		return append(b, "]}"...)
	}}
}

// MixB is 75 objects per request: 25 users, each with an attributes object
// of 5 attributes and two events.
func MixB(users int) Mix {
	return Mix{Name: "B", Objects: 75, Body: func(r *rand.Rand) []byte {
		ids := make([]int, 25)
		for i := range ids {
			ids[i] = r.IntN(users)
		}
		b := make([]byte, 0, 16<<10)
		b = append(b, `{"attributes":[`...)
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAttrs(b, id, 5, r)
		}
		b = append(b, `],"events":[`...)
		for i, id := range ids {
			for j := range 2 {
				if i > 0 || j > 0 {
					b = append(b, ',')
				}
				b = appendEvent(b, id, r)
			}
		}
		return append(b, "]}"...)
	}}
}

// Preload creates users 75n … 75n+74 in request n, each with attrs
// attributes.
func Preload(attrs int) Mix {
	return Mix{Name: "preload", Objects: 75, Seq: func(n uint64) []byte {
		r := rand.New(rand.NewPCG(n, 1))
		b := make([]byte, 0, 32<<10)
		b = append(b, `{"attributes":[`...)
		for i := range 75 {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAttrs(b, int(n)*75+i, attrs, r)
		}
		return append(b, "]}"...)
	}}
}
