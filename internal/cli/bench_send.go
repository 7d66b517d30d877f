package cli

import (
	"bufio"
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
// time. With --channel email the message is an email and the sink an SMTP
// server in this process.
func benchSend(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "bench send", "bench send [flags]")
	url := fs.String("url", "", "base URL of a running server (default: start one)")
	key := fs.String("key", "", "REST API key for --url (needs users.track and messages.send)")
	users := fs.Int("users", 100_000, "users to create and send to")
	conns := fs.Int("connections", 8, "concurrent connections for the setup and the sends")
	perRequest := fs.Int("per-request", 0, "name this many recipients per send (1–50) instead of one broadcast")
	logLevel := fs.String("server-log-level", "warn", "log level of the started server")
	store := fs.String("store", "", "store URL for the started server, e.g. postgres://… (default: SQLite in a fresh directory)")
	ch := fs.String("channel", "webhook", "webhook (to an HTTP sink) or email (to an SMTP sink; the started server gets --smtp-url)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *users < 1 || *conns < 1 || *perRequest < 0 || *perRequest > 50 {
		return usageError("--users and --connections must be positive, --per-request from 1 to 50")
	}
	if *ch != "webhook" && *ch != "email" {
		return usageError("--channel is webhook or email")
	}
	if *ch == "email" && *url != "" {
		return usageError("--channel email starts its own server (with --smtp-url at its SMTP sink); not with --url")
	}

	// The sink: counts deliveries, and distinct idempotency keys (the
	// webhook's Idempotency-Key, the email's Message-ID).
	var mu sync.Mutex
	keys := map[string]int{}
	var last time.Time
	got := func(key string) {
		mu.Lock()
		keys[key]++
		last = time.Now()
		mu.Unlock()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	var extra []string
	if *ch == "email" {
		go serveSMTPSink(ln, got)
		extra = []string{"--smtp-url", "smtp://" + ln.Addr().String() + "?tls=none"}
	} else {
		sink := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			got(r.Header.Get("Idempotency-Key"))
		})}
		go sink.Serve(ln)
		defer sink.Close()
	}
	stop, _, err := benchServer(ctx, url, key, *store, *logLevel, extra...)
	if err != nil {
		return err
	}
	defer stop()
	base := strings.TrimSuffix(*url, "/")
	w := env.Stdout

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
				fmt.Fprintf(&b, `{"external_id":"send-%d","first_name":"User %d","plan":"%s","email":"send-%d@example.com"}`, i, i, []string{"free", "pro"}[i%2], i)
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
	if *ch == "email" {
		webhook = `"messages":{"email":{"app_id":"bench","from":"Brazen Bench <bench@example.com>",` +
			`"subject":"Hi {{${first_name} | default: 'there'}}, your {{custom_attribute.${plan}}} plan",` +
			`"body":"<h1>Hello {{${first_name}}}</h1>{% if custom_attribute.${plan} == 'pro' %}<p>Thanks for being a Pro.</p>{% else %}<p>Try Pro.</p>{% endif %}<p>{{${user_id}}}</p>"}}}`
	}
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
	if res.Statuses[201] != int(sends) {
		return fmt.Errorf("the sends were not all accepted: statuses %v", res.Statuses)
	}
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
	fmt.Fprintf(w, "scenario     send %s with Liquid to %d users, %s\n", *ch, *users, how)
	fmt.Fprintf(w, "sends        %d requests in %.1fs (%.0f recipients/s queued); statuses %v\n",
		res.Requests, accepted.Seconds(), float64(*users)/accepted.Seconds(), res.Statuses)
	fmt.Fprintf(w, "delivered    %d of %d in %.1fs end to end = %.0f deliveries/s; %d duplicates\n",
		len(keys), *users, el, float64(len(keys))/el, dups)
	return nil
}

// serveSMTPSink accepts mail on ln until it is closed, speaking enough
// SMTP (RFC 5321, no extensions) for the email channel, and reports each
// message's Message-ID.
func serveSMTPSink(ln net.Listener, got func(messageID string)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			reply := func(s string) bool { _, err := io.WriteString(c, s+"\r\n"); return err == nil }
			if !reply("220 bench ESMTP") {
				return
			}
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				switch verb := strings.ToUpper(strings.Fields(line + " x")[0]); verb {
				case "EHLO", "HELO":
					reply("250 bench")
				case "MAIL", "RCPT", "RSET", "NOOP":
					reply("250 OK")
				case "DATA":
					reply("354 go ahead")
					// The Message-ID header may be folded onto the next
					// line: gather it until a line that is not its
					// continuation.
					id, inID, inHeaders := "", false, true
					for {
						l, err := r.ReadString('\n')
						if err != nil {
							return
						}
						if l == ".\r\n" || l == ".\n" {
							break
						}
						switch {
						case !inHeaders:
						case strings.TrimSpace(l) == "":
							inHeaders = false
						case inID && (l[0] == ' ' || l[0] == '\t'):
							id += strings.TrimSpace(l)
						case len(l) > 11 && strings.EqualFold(l[:11], "Message-ID:"):
							id, inID = strings.TrimSpace(l[11:]), true
						default:
							inID = false
						}
					}
					got(id)
					reply("250 OK queued")
				case "QUIT":
					reply("221 bye")
					return
				default:
					reply("502 not implemented")
				}
			}
		}()
	}
}
