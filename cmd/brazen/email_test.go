package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
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

// refusingSMTP is Python's smtpd with a channel that refuses, at RCPT TO,
// every address containing "bounce" with 550.
const refusingSMTP = `
import asyncore, smtpd, sys
class Channel(smtpd.SMTPChannel):
    def smtp_RCPT(self, arg):
        if arg and 'bounce' in arg.lower():
            self.push('550 5.1.1 no such user')
            return
        super().smtp_RCPT(arg)
class Server(smtpd.DebuggingServer):
    channel_class = Channel
Server(('127.0.0.1', int(sys.argv[1])), None)
print('ready', flush=True)
asyncore.loop()
`

// TestMessagesEmailHardBounce: a recipient the SMTP server refuses for
// good goes on the hard-bounce list, which /email/hard_bounces shows and
// the next send skips; /email/bounce/remove takes it off.
func TestMessagesEmailHardBounce(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 (the SMTP server process of this test) is not installed")
	}
	port := freePort(t)
	smtp := &smtpServer{cmd: exec.Command("python3", "-W", "ignore", "-u", "-c", refusingSMTP, fmt.Sprint(port))}
	out, err := smtp.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := smtp.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smtp.cmd.Process.Kill(); smtp.cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			smtp.mu.Lock()
			smtp.text.WriteString(sc.Text() + "\n")
			smtp.mu.Unlock()
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(smtp.received(), "ready"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the SMTP server did not start")
		}
	}
	s := serve(t, t.TempDir(), "--smtp-url", fmt.Sprintf("smtp://127.0.0.1:%d", port))
	defer s.stop(t)
	if status, _, body := post(t, s.addr, s.key, "/users/track", `{"attributes":[
		{"external_id":"gone","email":"bounce@example.com"},{"external_id":"ok","email":"ok@example.com"}]}`); status != 201 {
		t.Fatalf("track: %d %s", status, body)
	}
	send := `{"external_user_ids":["gone","ok"],"messages":{"email":{"app_id":"a","from":"T <t@example.com>","subject":"S","body":"<p>B</p>"}}}`
	if status, _, body := post(t, s.addr, s.key, "/messages/send", send); status != 201 {
		t.Fatalf("send: %d %s", status, body)
	}
	list := func() string {
		req, _ := http.NewRequest("GET", "http://"+s.addr+"/email/hard_bounces?email=bounce@example.com&end_date=2100-01-01", nil)
		req.Header.Set("Authorization", "Bearer "+s.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(list(), "bounce@example.com"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the refused address never reached the hard-bounce list: %s", list())
		}
	}
	// The next send skips the bounced address: only ok@ gets a second mail.
	if status, _, body := post(t, s.addr, s.key, "/messages/send", send); status != 201 {
		t.Fatalf("second send: %d %s", status, body)
	}
	for deadline := time.Now().Add(15 * time.Second); strings.Count(smtp.received(), "END MESSAGE") < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the second mail to ok@ never arrived:\n%s", smtp.received())
		}
	}
	time.Sleep(500 * time.Millisecond)
	if got := smtp.received(); strings.Count(got, "END MESSAGE") != 2 || strings.Contains(got, "To: <bounce@example.com>") {
		t.Errorf("want exactly the two mails to ok@:\n%s", got)
	}
	if status, _, body := post(t, s.addr, s.key, "/email/bounce/remove", `{"email":"bounce@example.com"}`); status != 200 {
		t.Fatalf("bounce/remove: %d %s", status, body)
	}
	if got := list(); strings.Contains(got, "bounce@example.com") {
		t.Errorf("still listed after the removal: %s", got)
	}
}
