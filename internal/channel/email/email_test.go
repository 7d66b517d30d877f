package email

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a small real SMTP server on loopback. After each message
// it answers RSET with failRSET, or hangs up when dropAfter is set.
type smtpServer struct {
	ln        net.Listener
	mu        sync.Mutex
	messages  int
	conns     int
	dropAfter bool
	failRSET  bool
}

func newSMTPServer(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { io.WriteString(c, l+"\r\n") }
	say("220 test")
	delivered := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		switch strings.ToUpper(strings.Fields(line + " x")[0]) {
		case "EHLO", "HELO":
			say("250 test")
		case "NOOP", "MAIL", "RCPT":
			say("250 OK")
		case "RSET":
			s.mu.Lock()
			drop, fail := s.dropAfter, s.failRSET
			s.mu.Unlock()
			if delivered && fail {
				say("554 no")
				return
			}
			say("250 OK")
			if delivered && drop {
				return // an idle timeout, as far as the client can tell
			}
		case "DATA":
			say("354 go")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			s.mu.Lock()
			s.messages++
			s.mu.Unlock()
			delivered = true
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

func (s *smtpServer) counts() (messages, conns int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messages, s.conns
}

func send(t *testing.T, snd *Sender, key string) error {
	t.Helper()
	return snd.Send(t.Context(), key, Message{From: "a@example.com", To: "b@example.com", Subject: "s", Text: "t"})
}

// TestSenderReusesConnections: messages share a connection; one the
// server dropped while idle is replaced without losing the message.
func TestSenderReusesConnections(t *testing.T) {
	srv := newSMTPServer(t)
	snd, err := NewSender("smtp://"+srv.ln.Addr().String()+"?tls=none", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := send(t, snd, "d/u/"+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	if m, c := srv.counts(); m != 3 || c != 1 {
		t.Errorf("3 messages: %d delivered over %d connections, want 3 over 1", m, c)
	}
	srv.mu.Lock()
	srv.dropAfter = true
	srv.mu.Unlock()
	for i := range 2 {
		if err := send(t, snd, "d/v/"+string(rune('a'+i))); err != nil {
			t.Fatalf("after the server hung up: %v", err)
		}
	}
	if m, c := srv.counts(); m != 5 || c != 2 {
		t.Errorf("5 messages: %d delivered over %d connections, want 5 over 2", m, c)
	}
}

// TestSenderRSETFailureIsDelivery: a failed RSET after the server took
// the message is not a failure to deliver (retrying would send it twice).
func TestSenderRSETFailureIsDelivery(t *testing.T) {
	srv := newSMTPServer(t)
	srv.failRSET = true
	snd, err := NewSender("smtp://"+srv.ln.Addr().String()+"?tls=none", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := send(t, snd, "d/u/email"); err != nil {
		t.Errorf("RSET refused after delivery: %v", err)
	}
	if m, _ := srv.counts(); m != 1 {
		t.Errorf("%d delivered", m)
	}
}
