package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/pgtest"
)

// cluster starts n nodes of `brazen serve` on one PostgreSQL database; the
// first one bootstraps the workspace and prints the admin key.
func cluster(t *testing.T, dsn string, n int, args ...string) ([]*server, string) {
	t.Helper()
	var nodes []*server
	for i := range n {
		s := serve(t, t.TempDir(), append([]string{"--store", dsn, "--instance", "TEST-01"}, args...)...)
		if i == 0 && s.key == "" {
			t.Fatalf("the first node printed no key:\n%s", s.stderr)
		}
		nodes = append(nodes, s)
	}
	return nodes, nodes[0].key
}

// TestClusterKillAndReconcile: three nodes over one PostgreSQL take writes
// in turn; one is killed with SIGKILL in the middle of the load. Its
// partitions are taken over by the others, and every acknowledged write is
// applied exactly once and in order: a user's counter equals its event
// count (a record is applied whole, once), lies between the acknowledged and
// the attempted count, and the user's last acknowledged sequence number is
// never overwritten by an earlier one.
func TestClusterKillAndReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three servers and kills one")
	}
	dsn := pgtest.NewDatabase(t)
	nodes, key := cluster(t, dsn, 3, "--lease-ttl", "2s")

	const users, workers = 60, 12
	var mu sync.Mutex // guards the counts
	acked, tried := make([]int, users), make([]int, users)
	lastAcked := make([]int, users) // the sequence number of each user's last acknowledged write
	dead := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for i := 1; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Each user belongs to one worker, whose writes to it are
				// sequential: their order is the order they must apply in.
				u := w + workers*(i%(users/workers))
				node := nodes[(w+i)%len(nodes)]
				select {
				case <-dead:
					if node == nodes[1] {
						node = nodes[0]
					}
				default:
				}
				body := fmt.Sprintf(`{"attributes":[{"external_id":"k-%d","n":{"inc":1},"seq":%d}],
					"events":[{"external_id":"k-%d","name":"tick","time":"2026-11-20T10:00:00Z"}]}`, u, i, u)
				req, _ := http.NewRequest("POST", "http://"+node.addr+"/users/track", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+key)
				mu.Lock()
				tried[u]++
				mu.Unlock()
				resp, err := client.Do(req)
				if err != nil {
					continue // the node died under this request: it may or may not be stored
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					acked[u]++
					lastAcked[u] = i
					mu.Unlock()
				} else if resp.StatusCode != 429 {
					t.Errorf("track on %s: %d", node.addr, resp.StatusCode)
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	nodes[1].cmd.Process.Signal(syscall.SIGKILL)
	<-nodes[1].read
	nodes[1].cmd.Wait()
	close(dead)
	time.Sleep(2500 * time.Millisecond)
	close(stop)
	wg.Wait()

	total := 0
	for u := range users {
		// Read through the two survivors in turn: a read waits for every
		// partition, whichever node applies it.
		node := nodes[[]int{0, 2}[u%2]]
		status, _, body := post(t, node.addr, key, "/users/export/ids",
			fmt.Sprintf(`{"external_ids":["k-%d"],"fields_to_export":["custom_attributes","custom_events"]}`, u))
		var out struct {
			Users []struct {
				Custom map[string]json.Number `json:"custom_attributes"`
				Events []struct {
					Count int `json:"count"`
				} `json:"custom_events"`
			} `json:"users"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || status != 200 {
			t.Fatalf("export k-%d: %d %s", u, status, body)
		}
		n, events, seq := 0, 0, 0
		if len(out.Users) == 1 {
			c, _ := out.Users[0].Custom["n"].Int64()
			s, _ := out.Users[0].Custom["seq"].Int64()
			n, seq = int(c), int(s)
			if len(out.Users[0].Events) == 1 {
				events = out.Users[0].Events[0].Count
			}
		}
		if n != events || n < acked[u] || n > tried[u] {
			t.Errorf("k-%d: counter %d, events %d; acknowledged %d, attempted %d", u, n, events, acked[u], tried[u])
		}
		if seq < lastAcked[u] {
			t.Errorf("k-%d: seq %d, but write %d was acknowledged after the earlier ones", u, seq, lastAcked[u])
		}
		total += acked[u]
	}
	if total == 0 {
		t.Fatal("no write was acknowledged")
	}
	t.Logf("3 nodes, one killed: %d writes acknowledged, all present, applied once and in order", total)
	nodes[0].stop(t)
	nodes[2].stop(t)
}

// TestClusterKeys: a key made with the CLI works on every node at once; a
// deleted one stops working on every node within --key-refresh.
func TestClusterKeys(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	nodes, _ := cluster(t, dsn, 2, "--key-refresh", "500ms")
	out, err := exec.Command(binary, "keys", "create", "--store", dsn, "--name", "ci", "--permissions", "users.track").CombinedOutput()
	if err != nil {
		t.Fatalf("keys create: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`).FindStringSubmatch(string(out))
	idm := regexp.MustCompile(`created API key ([0-9a-f]{24})`).FindStringSubmatch(string(out))
	if m == nil || idm == nil {
		t.Fatalf("no key and id in the output of keys create:\n%s", out)
	}
	track := func(s *server) int {
		status, _, _ := post(t, s.addr, m[1], "/users/track", `{"attributes":[{"external_id":"x","a":1}]}`)
		return status
	}
	for i, s := range nodes {
		if got := track(s); got != 201 {
			t.Errorf("node %d: the new key got %d, want 201 at once", i, got)
		}
	}
	if out, err := exec.Command(binary, "keys", "delete", "--store", dsn, idm[1]).CombinedOutput(); err != nil {
		t.Fatalf("keys delete: %v\n%s", err, out)
	}
	start := time.Now()
	for i, s := range nodes {
		for track(s) != 401 {
			if time.Since(start) > 3*time.Second {
				t.Fatalf("node %d still takes the deleted key after %s", i, time.Since(start))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("the deleted key stopped working on both nodes within %s", time.Since(start).Round(time.Millisecond))
}

// TestClusterRateLimit: a workspace's limit holds across nodes, with the
// cluster's count in the headers of every node once they have synced.
func TestClusterRateLimit(t *testing.T) {
	if left := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour)); left < 15*time.Second {
		time.Sleep(left + time.Second) // stay inside one window
	}
	dsn := pgtest.NewDatabase(t)
	nodes, key := cluster(t, dsn, 2, "--rate-limit", "/users/track=10/hour")
	a, b := nodes[0], nodes[1]
	body := `{"attributes":[{"external_id":"r","a":1}]}`
	take := func(s *server) (int, string) {
		status, h, _ := post(t, s.addr, key, "/users/track", body)
		if h.Get("X-RateLimit-Limit") != "10" {
			t.Errorf("X-RateLimit-Limit = %q, want 10", h.Get("X-RateLimit-Limit"))
		}
		return status, h.Get("X-RateLimit-Remaining")
	}
	take(a)
	take(b)
	time.Sleep(700 * time.Millisecond) // both nodes have synced: the cluster has used 2
	for i := range 8 {
		if status, rem := take(a); status != 201 || rem != fmt.Sprint(7-i) {
			t.Fatalf("request %d on node A: %d, remaining %s; want 201, %d", i, status, rem, 7-i)
		}
	}
	if status, rem := take(a); status != 429 || rem != "0" {
		t.Errorf("node A past the cluster's limit: %d, remaining %s; want 429, 0", status, rem)
	}
	time.Sleep(700 * time.Millisecond)
	if status, rem := take(b); status != 429 || rem != "0" {
		t.Errorf("node B after node A spent the rest: %d, remaining %s; want 429, 0", status, rem)
	}
}
