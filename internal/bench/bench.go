// Package bench drives a Brazen server over HTTP on loopback and reports
// throughput, latency percentiles and the server's peak memory. `brazen
// bench` uses it; each scenario is a request generator.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a brazen server process started for a benchmark.
type Server struct {
	URL string // base URL, e.g. http://127.0.0.1:41234
	Key string // its first admin REST API key
	cmd *exec.Cmd
}

var keyLine = regexp.MustCompile(`^    ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)

// StartServer runs `brazen serve` (the binary at exe) on a fresh data
// directory and a free loopback port, with extra arguments (e.g. a log
// level or rate limits), and waits until it answers /readyz.
// key is a REST key the store already holds, or "" for a fresh store,
// whose first key the server prints.
func StartServer(ctx context.Context, exe, dataDir, key string, extra ...string) (*Server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--data", dataDir, "--addr", addr, "--console-addr", ""}, extra...)
	cmd := exec.CommandContext(ctx, exe, args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + addr, cmd: cmd}
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			if m := keyLine.FindStringSubmatch(sc.Text()); m != nil {
				keyc <- m[1]
			}
		}
		close(keyc)
	}()
	if s.Key = key; s.Key == "" {
		select {
		case s.Key = <-keyc:
		case <-time.After(30 * time.Second):
		}
	}
	if s.Key == "" {
		s.Stop()
		return nil, errors.New("the server printed no first key (was the data directory fresh?)")
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("the server is not ready at %s: %v", s.URL, err)
		}
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// PeakRSS returns the server's peak resident set size in bytes (VmHWM).
func (s *Server) PeakRSS() (int64, error) { return peakRSS(s.cmd.Process.Pid) }

// Stop stops the server with SIGTERM and waits for it.
func (s *Server) Stop() error {
	s.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		return errors.New("the server did not stop within 30s of SIGINT")
	}
}

func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// Request is one request a scenario sends.
type Request struct {
	Method, Path string
	Body         []byte
}

// Load is a load to drive.
type Load struct {
	URL         string
	Key         string
	Connections int
	Duration    time.Duration
	// Rate, if positive, paces the load at this many requests per second
	// in total (open loop): each request has a scheduled start, and its
	// latency counts from then, so a slow server cannot hide its queueing
	// by slowing the load down.
	Rate float64
	// Total, if positive, stops the load after that many requests (or the
	// duration, whichever comes first).
	Total uint64
	// Next builds request number n (counted across all connections).
	Next func(worker int, n uint64) Request
}

// Result is what a run measured.
type Result struct {
	Requests  int
	Elapsed   time.Duration
	Statuses  map[int]int
	Errors    int // transport errors
	Latencies []time.Duration
}

// Run drives l until its duration is over.
func Run(ctx context.Context, l Load) (*Result, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: l.Connections, MaxConnsPerHost: l.Connections, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, l.Duration)
	defer cancel()

	type partial struct {
		statuses  map[int]int
		errors    int
		latencies []time.Duration
	}
	parts := make([]partial, l.Connections)
	start := time.Now()
	var counter atomic.Uint64
	var wg sync.WaitGroup
	for w := range l.Connections {
		wg.Go(func() {
			p := &parts[w]
			p.statuses = map[int]int{}
			p.latencies = make([]time.Duration, 0, 1<<16)
			var interval time.Duration
			if l.Rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(l.Connections) / l.Rate)
			}
			next := start.Add(time.Duration(w) * interval / time.Duration(l.Connections))
			for ctx.Err() == nil {
				n := counter.Add(1) - 1
				if l.Total > 0 && n >= l.Total {
					return
				}
				t0 := time.Now()
				if interval > 0 {
					if d := time.Until(next); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							continue
						}
					}
					t0 = next
					next = next.Add(interval)
				}
				rq := l.Next(w, n)
				req, err := http.NewRequestWithContext(ctx, rq.Method, l.URL+rq.Path, bytes.NewReader(rq.Body))
				if err != nil {
					p.errors++
					continue
				}
				req.Header.Set("Authorization", "Bearer "+l.Key)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						p.errors++
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				p.latencies = append(p.latencies, time.Since(t0))
				p.statuses[resp.StatusCode]++
			}
		})
	}
	wg.Wait()
	res := &Result{Elapsed: time.Since(start), Statuses: map[int]int{}}
	for _, p := range parts {
		for s, n := range p.statuses {
			res.Statuses[s] += n
			res.Requests += n
		}
		res.Errors += p.errors
		res.Latencies = append(res.Latencies, p.latencies...)
	}
	slices.Sort(res.Latencies)
	return res, nil
}

// Metric reads one sample value from the server's /metrics.
func Metric(ctx context.Context, baseURL, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	return 0, fmt.Errorf("no metric %s at %s/metrics", name, baseURL)
}

// WaitApplied waits until the server's applier has applied everything its
// ingest log holds, and returns when that happened.
func WaitApplied(ctx context.Context, baseURL string, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		head, err := Metric(ctx, baseURL, "brazen_ingest_log_head")
		if err != nil {
			return time.Time{}, err
		}
		pos, err := Metric(ctx, baseURL, "brazen_ingest_applied_position")
		if err != nil {
			return time.Time{}, err
		}
		if pos >= head {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("the applier is at %.0f of %.0f after %s", pos, head, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Percentile returns the p-th percentile latency (0 < p ≤ 100).
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.Latencies))*p/100+0.5) - 1
	return r.Latencies[min(max(i, 0), len(r.Latencies)-1)]
}

// Rate returns requests per second.
func (r *Result) Rate() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }
