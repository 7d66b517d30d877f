package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the brazen binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "brazen-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "brazen")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	keyLine  = regexp.MustCompile(`(?m)^    ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	addrLine = regexp.MustCompile(`msg=serving .* addr=(127\.0\.0\.1:\d+)`)
)

// server runs `brazen serve` in dir and waits until it listens.
type server struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer // written by the reader goroutine until read is closed; see output
	mu     sync.Mutex    // guards stderr while the server runs
	read   chan struct{}
	addr   string
	key    string // the first admin key, if this start printed one
}

func serve(t *testing.T, dir string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--addr", "127.0.0.1:0", "--console-addr", ""}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BRAZEN_LOG_LEVEL=info")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}, read: make(chan struct{})}
	t.Cleanup(func() { cmd.Process.Kill(); <-s.read; cmd.Wait() })
	found := make(chan struct{})
	go func() {
		defer close(s.read)
		sc := bufio.NewScanner(pipe)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			s.mu.Unlock()
			if m := keyLine.FindStringSubmatch(line); m != nil {
				s.key = m[1]
			}
			if m := addrLine.FindStringSubmatch(line); m != nil && !signalled {
				s.addr, signalled = m[1], true
				close(found)
			}
		}
	}()
	select {
	case <-found:
	case <-time.After(15 * time.Second):
		t.Fatalf("the server did not start")
	}
	return s
}

// output is what the server wrote to stderr so far.
func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { <-s.read; done <- s.cmd.Wait() }() // read all of stderr before Wait closes the pipe
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.stderr)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

// TestServeEndToEnd follows the README on a fresh directory: start, take
// the printed key, call the API, stop with SIGTERM, start again.
func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	s := serve(t, dir)
	if s.key == "" {
		t.Fatal("the first start printed no key")
	}
	if _, err := os.Stat(filepath.Join(dir, "brazen-data", "brazen.db")); err != nil {
		t.Fatalf("no ./brazen-data/brazen.db: %v", err)
	}
	status, hdr, body := post(t, s.addr, s.key, "/users/track", trackBody)
	if status != 201 || hdr.Get("X-RateLimit-Limit") != "3000" {
		t.Fatalf("track: %d %s", status, body)
	}
	s.stop(t)
	if strings.Count(s.stderr.String(), s.key) != 2 { // the banner and its curl example, nothing else
		t.Errorf("the key appears %d times on stderr", strings.Count(s.stderr.String(), s.key))
	}

	// A key made by the CLI while the server runs works at once.
	s2 := serve(t, dir, "--rate-limit", "/users/track=1/1h")
	if s2.key != "" {
		t.Error("a restart printed another key")
	}
	out, err := exec.Command(binary, "keys", "create", "--data", filepath.Join(dir, "brazen-data"),
		"--name", "cli", "--permissions", "users.track").Output()
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(out))
	for i, want := range []int{201, 429} {
		if status, _, body := post(t, s2.addr, key, "/users/track", trackBody); status != want {
			t.Errorf("request %d: %d %s, want %d", i, status, body, want)
		}
	}
	// What the first run acknowledged survived the restart.
	if status, _, body := post(t, s2.addr, s.key, "/users/export/ids", `{"external_ids":["e2e-user"]}`); status != 200 ||
		!strings.Contains(body, `"first_name":"Ada"`) || !strings.Contains(body, `"name":"signed_up"`) {
		t.Errorf("export after restart: %d %s", status, body)
	}
	s2.stop(t)
	if strings.Contains(s2.stderr.String(), key) {
		t.Error("the server logged a key")
	}
}

const trackBody = `{"attributes":[{"external_id":"e2e-user","first_name":"Ada"}],
	"events":[{"external_id":"e2e-user","name":"signed_up","time":"2026-11-20T10:00:00Z"}]}`

func post(t *testing.T, addr, key, path, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(raw)
}

func TestInvalidSettingExitsTwo(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--addr", "nonsense"},
		{"serve", "--log-level", "loud"},
		{"serve", "--rate-limit", "/users/track=many"},
		{"nosuchcommand"},
	} {
		cmd := exec.Command(binary, args...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			t.Errorf("%v: %v, want exit status 2\n%s", args, err, out)
		}
	}
}

// TestBenchHTTP runs the benchmark command briefly against a server it
// starts itself, and checks that it measured something.
func TestBenchHTTP(t *testing.T) {
	out, err := exec.Command(binary, "bench", "http", "--duration", "500ms", "--connections", "2").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"requests ", "statuses     200: ", "latency      p50 ", "server RSS   peak "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestNodeClient runs a community Braze client, the npm package braze-api,
// against the binary (clients/node/test.mjs). .ci/run installs Node.js and
// the package; elsewhere the test skips, saying what is missing.
func TestNodeClient(t *testing.T) {
	clientDir, err := filepath.Abs(filepath.Join("..", "..", "clients", "node"))
	if err != nil {
		t.Fatal(err)
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(clientDir, "node_modules", "braze-api")); err != nil {
		missing = "braze-api is not installed: run 'npm ci' in clients/node"
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatal(missing)
		}
		t.Skip(missing)
	}
	dir := t.TempDir()
	s := serve(t, dir)
	narrow, err := exec.Command(binary, "keys", "create", "--data", filepath.Join(dir, "brazen-data"),
		"--name", "narrow", "--permissions", "users.track").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "--test", "test.mjs")
	cmd.Dir = clientDir
	cmd.Env = append(os.Environ(), "BRAZEN_URL=http://"+s.addr, "BRAZEN_KEY="+s.key,
		"BRAZEN_NARROW_KEY="+strings.TrimSpace(string(narrow)))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("braze-api against brazen: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestKillAndReconcile kills the server with SIGKILL while clients track,
// several times, and then reconciles: every write acknowledged with 201 is
// present, and none was applied twice. Each request carries one event and
// one increment for the same user, so a profile's counter must equal its
// event count exactly (a record is applied whole, once), and both must be at
// least the acknowledged count and at most the attempted count.
func TestKillAndReconcile(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts the server several times")
	}
	dir := t.TempDir()
	const users, workers, rounds = 20, 8, 4
	var mu sync.Mutex // guards acked and tried
	acked, tried := make([]int, users), make([]int, users)
	key := ""
	for round := range rounds {
		s := serve(t, dir)
		if round == 0 {
			key = s.key
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				client := &http.Client{Timeout: 5 * time.Second}
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					u := (w*7919 + i) % users
					body := fmt.Sprintf(`{"attributes":[{"external_id":"k-%d","n":{"inc":1}}],"events":[{"external_id":"k-%d","name":"tick","time":"2026-11-20T10:00:00Z"}]}`, u, u)
					req, _ := http.NewRequest("POST", "http://"+s.addr+"/users/track", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+key)
					mu.Lock()
					tried[u]++
					mu.Unlock()
					resp, err := client.Do(req)
					if err != nil {
						continue // the server died under this request: it may or may not be stored
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 201 {
						mu.Lock()
						acked[u]++
						mu.Unlock()
					}
				}
			})
		}
		time.Sleep(time.Duration(700+round*300) * time.Millisecond)
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.read
		s.cmd.Wait()
		close(stop)
		wg.Wait()
	}
	s := serve(t, dir)
	defer s.stop(t)
	total := 0
	for u := range users {
		status, _, body := post(t, s.addr, key, "/users/export/ids",
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
		n, events := 0, 0
		if len(out.Users) == 1 {
			c, _ := out.Users[0].Custom["n"].Int64()
			n = int(c)
			if len(out.Users[0].Events) == 1 {
				events = out.Users[0].Events[0].Count
			}
		}
		if n != events || n < acked[u] || n > tried[u] {
			t.Errorf("k-%d: counter %d, events %d; acknowledged %d, attempted %d", u, n, events, acked[u], tried[u])
		}
		total += acked[u]
	}
	if total == 0 {
		t.Fatal("no write was acknowledged")
	}
	t.Logf("%d kills; %d writes acknowledged, all present and applied once", rounds, total)
}
