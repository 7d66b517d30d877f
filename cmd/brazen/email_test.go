package main

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a real SMTP server process: Python's smtpd module, which
// prints every message it receives.
type smtpServer struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	text strings.Builder
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startSMTP(t *testing.T, port int) *smtpServer {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 (the SMTP server process of this test) is not installed")
	}
	s := &smtpServer{cmd: exec.Command("python3", "-W", "ignore", "-u", "-m", "smtpd", "-n", "-c", "DebuggingServer", fmt.Sprintf("127.0.0.1:%d", port))}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.mu.Lock()
			s.text.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("the SMTP server did not start")
		}
	}
}

func (s *smtpServer) received() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String()
}

// TestMessagesSendEmail: an email send while the SMTP server is down is
// delivered once it is up; each subscribed user gets one mail rendered for
// them with a List-Unsubscribe header and a Message-ID made from the job's
// key; an unsubscribed user and a user without an address get none.
func TestMessagesSendEmail(t *testing.T) {
	port := freePort(t)
	s := serve(t, t.TempDir(), "--smtp-url", fmt.Sprintf("smtp://127.0.0.1:%d", port))
	defer s.stop(t)
	status, _, body := post(t, s.addr, s.key, "/users/track", `{"attributes":[
		{"external_id":"ada","first_name":"Ada","email":"ada@example.com"},
		{"external_id":"bob","first_name":"Bob","email":"bob@example.com","email_subscribe":"unsubscribed"},
		{"external_id":"cy","first_name":"Cy"}]}`)
	if status != 201 {
		t.Fatalf("track: %d %s", status, body)
	}
	status, _, body = post(t, s.addr, s.key, "/messages/send", `{"external_user_ids":["ada","bob","cy"],"messages":{"email":{
		"app_id":"app","from":"Brazen Test <news@example.com>","subject":"Hello {{${first_name}}}",
		"body":"<p>Hi <b>{{${first_name}}}</b></p>","headers":{"X-Campaign":"welcome"}}}}`)
	if status != 201 {
		t.Fatalf("send: %d %s", status, body)
	}
	time.Sleep(1500 * time.Millisecond) // the first attempts fail: nothing listens yet
	smtp := startSMTP(t, port)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(smtp.received(), "END MESSAGE") {
		if time.Now().After(deadline) {
			t.Fatalf("no mail arrived after the SMTP server started; it printed:\n%s", smtp.received())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	got := smtp.received()
	for _, want := range []string{"Subject: Hello Ada", "To: <ada@example.com>", "List-Unsubscribe: <mailto:news@example.com?subject=unsubscribe>",
		"X-Campaign: welcome", "Hi <b>Ada</b>", "Hi Ada", ".email@brazen>"} {
		if !strings.Contains(got, want) {
			t.Errorf("the mail lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "END MESSAGE"); n != 1 {
		t.Errorf("%d mails arrived, want 1 (Bob unsubscribed, Cy has no address):\n%s", n, got)
	}
}
