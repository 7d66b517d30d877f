package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brazenhq/brazen/internal/channel/apns/apnstest"
	"github.com/brazenhq/brazen/internal/channel/fcm/fcmtest"
)

// TestMessagesSendPush: iOS and Android push through real HTTP/2 APNs and
// FCM HTTP v1 servers (with their token auth and OAuth2 exchange),
// personalised per user; APNs failing once is retried; a token APNs says
// is unregistered comes off the profile and the message is recorded as a
// bounce; an unsubscribed user and a user without tokens are skipped.
func TestMessagesSendPush(t *testing.T) {
	apnsSrv := apnstest.NewServer(t)
	fcmSrv := fcmtest.NewServer(t)
	dir := t.TempDir()
	keyFile, credFile := filepath.Join(dir, "AuthKey.p8"), filepath.Join(dir, "firebase.json")
	if err := os.WriteFile(keyFile, apnsSrv.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(credFile, fcmSrv.CredentialsJSON(), 0o600); err != nil {
		t.Fatal(err)
	}
	s := serve(t, dir, "--apns-key-file", keyFile, "--apns-key-id", apnsSrv.KeyID, "--apns-team-id", apnsSrv.TeamID,
		"--apns-topic", "com.example.app", "--apns-url", apnsSrv.URL(),
		"--fcm-credentials-file", credFile, "--fcm-url", fcmSrv.URL(), "--push-app", "droid=android")
	defer s.stop(t)

	adaIOS, bobIOS, cyIOS := strings.Repeat("a1", 32), strings.Repeat("b2", 32), strings.Repeat("c3", 32)
	if status, _, body := post(t, s.addr, s.key, "/users/track", `{"attributes":[
		{"external_id":"ada","first_name":"Ada","plan":"pro","push_tokens":[
			{"app_id":"ios-app","token":"`+adaIOS+`","device_id":"ada-phone"},
			{"app_id":"droid","token":"fcm-token-ada:APA91b","device_id":"ada-tablet"}]},
		{"external_id":"bob","first_name":"Bob","push_tokens":[{"app_id":"ios-app","token":"`+bobIOS+`"}]},
		{"external_id":"cy","push_subscribe":"unsubscribed","push_tokens":[{"app_id":"ios-app","token":"`+cyIOS+`"}]},
		{"external_id":"dee","first_name":"Dee"}]}`); status != 201 {
		t.Fatalf("track: %d %s", status, body)
	}
	apnsSrv.Unregister(bobIOS)
	apnsSrv.FailNext(1, 503)

	status, _, body := post(t, s.addr, s.key, "/messages/send", `{"external_user_ids":["ada","bob","cy","dee"],"messages":{
		"apple_push":{"alert":{"title":"Hi {{${first_name}}}","body":"Your {{custom_attribute.${plan} | default: 'free'}} plan"},
			"extra":{"plan":"{{custom_attribute.${plan}}}","n":3},"collapse_id":"plan","apns_priority":5},
		"android_push":{"title":"Hi {{${first_name}}}","alert":"Android {{custom_attribute.${plan}}}","android_priority":"high","time_to_live":3600}}}`)
	if status != 201 {
		t.Fatalf("send: %d %s", status, body)
	}
	var resp struct {
		DispatchID string `json:"dispatch_id"`
	}
	json.Unmarshal([]byte(body), &resp)

	// Wait for the outcomes: ada's iOS (after the 503) and Android sends,
	// bob's bounce.
	events := func() string {
		out, err := exec.Command(binary, "messages", "events", "--data", filepath.Join(dir, "brazen-data"), "--dispatch", resp.DispatchID, "--json").CombinedOutput()
		if err != nil {
			t.Fatalf("messages events: %v\n%s", err, out)
		}
		return string(out)
	}
	var ev string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ev = events(); strings.Count(ev, "\n") >= 3 {
			break
		}
	}
	for _, want := range []string{`"channel":"apple_push"`, `"channel":"android_push"`, `"dispatch_id":"` + resp.DispatchID + `"`,
		`"outcome":"sent"`, `"outcome":"bounced"`, `Unregistered`} {
		if !strings.Contains(ev, want) {
			t.Errorf("events lack %s:\n%s", want, ev)
		}
	}
	if n := strings.Count(ev, "\n"); n != 3 {
		t.Errorf("%d events, want 3 (ada iOS sent, ada Android sent, bob iOS bounced):\n%s", n, ev)
	}

	var sent []apnstest.Received
	for _, n := range apnsSrv.Notifications() {
		if n.Token == adaIOS {
			sent = append(sent, n)
		}
	}
	// The 503 was answered to one request; the retry went through.
	if len(sent) < 1 {
		t.Fatalf("APNs got nothing for ada: %+v", apnsSrv.Notifications())
	}
	n := sent[len(sent)-1]
	var body2 map[string]any
	json.Unmarshal(n.Body, &body2)
	aps, _ := body2["aps"].(map[string]any)
	alert, _ := aps["alert"].(map[string]any)
	if alert["title"] != "Hi Ada" || alert["body"] != "Your pro plan" || body2["plan"] != "pro" || body2["n"] != float64(3) {
		t.Errorf("ada's notification body: %s", n.Body)
	}
	if n.Topic != "com.example.app" || n.Priority != "5" || n.CollapseID != "plan" || n.PushType != "alert" ||
		!regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(n.ID) {
		t.Errorf("ada's notification headers: %+v", n)
	}
	for _, x := range apnsSrv.Notifications() {
		if x.Token == cyIOS {
			t.Errorf("cy is unsubscribed from push but got %s", x.Body)
		}
	}

	msgs := fcmSrv.Messages()
	if len(msgs) != 1 || msgs[0].Token != "fcm-token-ada:APA91b" || msgs[0].Data["t"] != "Hi Ada" || msgs[0].Data["a"] != "Android pro" ||
		msgs[0].Android.Priority != "HIGH" || msgs[0].Android.TTL != "3600s" {
		t.Errorf("FCM got %+v", msgs)
	}

	// bob's refused token is gone from his profile; ada keeps hers.
	status, _, body = post(t, s.addr, s.key, "/users/export/ids", `{"external_ids":["bob","ada"],"fields_to_export":["external_id","push_tokens"]}`)
	if status != 200 || strings.Contains(body, bobIOS) || !strings.Contains(body, adaIOS) {
		t.Errorf("export after the bounce: %d %s", status, body)
	}
}
