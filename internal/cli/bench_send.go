package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/brazenhq/brazen/internal/bench"
)

// benchSend: create N users, send them a webhook message with Liquid as
// one broadcast to an audience matching all of them (or, with
// --per-request 50, in sends naming 50 recipients each), deliver to an
// HTTP sink in this process, and report deliveries/s and the end-to-end
// time.
func benchSend(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "bench send", "bench send [flags]")
	url := fs.String("url", "", "base URL of a running server (default: start one)")
	key := fs.String("key", "", "REST API key for --url (needs users.track and messages.send)")
	users := fs.Int("users", 100_000, "users to create and send to")
	conns := fs.Int("connections", 8, "concurrent connections for the setup and the sends")
	perRequest := fs.Int("per-request", 0, "name this many recipients per send (1–50) instead of one broadcast")
	logLevel := fs.String("server-log-level", "warn", "log level of the started server")
	store := fs.String("store", "", "store URL for the started server, e.g. postgres://… (default: SQLite in a fresh directory)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *users < 1 || *conns < 1 || *perRequest < 0 || *perRequest > 50 {
		return usageError("--users and --connections must be positive, --per-request from 1 to 50")
	}
	stop, _, err := benchServer(ctx, url, key, *store, *logLevel)
	if err != nil {
		return err
	}
	defer stop()
	base := strings.TrimSuffix(*url, "/")
	w := env.Stdout

	// The sink: counts deliveries, and distinct idempotency keys.
	var mu sync.Mutex
	keys := map[string]int{}
	var last time.Time
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sink := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		keys[r.Header.Get("Idempotency-Key")]++
		last = time.Now()
		mu.Unlock()
	})}
	go sink.Serve(ln)
	defer sink.Close()

	// Setup: the users, 75 per request.
	start := time.Now()
	res, err := bench.Run(ctx, bench.Load{URL: base, Key: *key, Connections: *conns, Duration: 24 * time.Hour,
		Total: uint64((*users + 74) / 75),
		Next: func(_ int, n uint64) bench.Request {
			var b strings.Builder
			b.WriteString(`{"attributes":[`)
			for i := int(n) * 75; i < min(int(n+1)*75, *users); i++ {
				if i > int(n)*75 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, `{"external_id":"send-%d","first_name":"User %d","plan":"%s"}`, i, i, []string{"free", "pro"}[i%2])
			}
			b.WriteString(`]}`)
			return bench.Request{Method: "POST", Path: "/users/track", Body: []byte(b.String())}
		}})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "setup        %d users in %.1fs; statuses %v\n", *users, time.Since(start).Seconds(), res.Statuses)

	webhook := fmt.Sprintf(`"messages":{"webhook":{"url":"http://%s/hook","request_method":"POST",`+
		`"request_headers":{"Content-Type":"application/json"},`+
		`"body":"{\"greeting\":\"Hi {{${first_name} | default: 'there'}}\",\"plan\":\"{{custom_attribute.${plan} | upcase}}\",\"user\":\"{{${user_id}}}\"}"}}}`,
		ln.Addr())
	body := func(n uint64) []byte {
		if *perRequest == 0 {
			return []byte(`{"broadcast":true,"audience":{"custom_attribute":{"custom_attribute_name":"plan","comparison":"exists"}},` + webhook)
		}
		var b strings.Builder
		b.WriteString(`{"external_user_ids":[`)
		for i := int(n) * *perRequest; i < min(int(n+1)**perRequest, *users); i++ {
			if i > int(n)**perRequest {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"send-%d"`, i)
		}
		b.WriteString(`],` + webhook)
		return []byte(b.String())
	}
	sends, sendConns := uint64(1), 1
	if *perRequest > 0 {
		sends, sendConns = uint64((*users+*perRequest-1) / *perRequest), *conns
	}
	start = time.Now()
	res, err = bench.Run(ctx, bench.Load{URL: base, Key: *key, Connections: sendConns, Duration: 24 * time.Hour, Total: sends,
		Next: func(_ int, n uint64) bench.Request {
			return bench.Request{Method: "POST", Path: "/messages/send", Body: body(n)}
		},
	})
	if err != nil {
		return err
	}
	accepted := time.Since(start)
	deadline := time.Now().Add(30 * time.Minute)
	for {
		mu.Lock()
		n := len(keys)
		mu.Unlock()
		if n >= *users || time.Now().After(deadline) {
			break
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, c := range keys {
		dups += c - 1
	}
	el := last.Sub(start).Seconds()
	how := "one broadcast to an audience"
	if *perRequest > 0 {
		how = fmt.Sprintf("%d recipients per request", *perRequest)
	}
	fmt.Fprintf(w, "scenario     send webhook with Liquid to %d users, %s\n", *users, how)
	fmt.Fprintf(w, "sends        %d requests in %.1fs (%.0f recipients/s queued); statuses %v\n",
		res.Requests, accepted.Seconds(), float64(*users)/accepted.Seconds(), res.Statuses)
	fmt.Fprintf(w, "delivered    %d of %d in %.1fs end to end = %.0f deliveries/s; %d duplicates\n",
		len(keys), *users, el, float64(len(keys))/el, dups)
	return nil
}
