package cli

import (
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/channel/email"
)

// TestSMTPSink: the benchmark's SMTP sink takes mail from a real SMTP
// client and reports each message's Message-ID.
func TestSMTPSink(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	var ids []string
	go serveSMTPSink(ln, func(id string) { mu.Lock(); ids = append(ids, id); mu.Unlock() })
	for _, id := range []string{"<a.1@brazen>", "<b.2@brazen>"} {
		msg := "Message-ID:\r\n " + id + "\r\nSubject: hi\r\n\r\nbody\r\nMessage-ID: <not.a.header>\r\n.leading dot\r\n"
		if err := smtp.SendMail(ln.Addr().String(), nil, "from@example.com", []string{"to@example.com"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(ids, " ") != "<a.1@brazen> <b.2@brazen>" {
		t.Errorf("ids = %q", ids)
	}
}

// TestSMTPSinkWithTheEmailChannel: the sink takes mail from Brazen's own
// email sender, as the benchmark's server sends it.
func TestSMTPSinkWithTheEmailChannel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go serveSMTPSink(ln, func(id string) { got <- id })
	s, err := email.NewSender("smtp://"+ln.Addr().String()+"?tls=none", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), "d/u/email", email.Message{From: "a@example.com", To: "b@example.com", Subject: "hi", HTML: "<p>x</p>", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	if id := <-got; id != "<d.u.email@brazen>" {
		t.Errorf("Message-ID %q", id)
	}
}

func TestSMTPSinkConcurrent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	ids := map[string]bool{}
	go serveSMTPSink(ln, func(id string) { mu.Lock(); ids[id] = true; mu.Unlock() })
	s, err := email.NewSender("smtp://"+ln.Addr().String()+"?tls=none", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			// Keys as long as the dispatcher's, whose Message-ID is folded.
			if err := s.Send(t.Context(), fmt.Sprintf("%024d/%024d/email", i, i), email.Message{From: "Bench <a@example.com>", To: "b@example.com", Subject: "hi", HTML: "<p>x</p>", Text: "x"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(ids) != 100 {
		t.Errorf("%d distinct ids", len(ids))
	}
}
