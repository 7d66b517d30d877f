package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	consoleAddrLine = regexp.MustCompile(`msg=serving .* console_addr=(127\.0\.0\.1:\d+)`)
	setupLinkLine   = regexp.MustCompile(`(http://127\.0\.0\.1:\d+/setup\?token=[A-Za-z0-9_-]+)`)
)

// browser starts headless Chromium (Debian's chromium package) through the
// DevTools protocol. Without it the test skips, saying how to get it;
// with CI set it fails instead.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := os.Getenv("BRAZEN_CHROMIUM")
	if exe == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				exe = p
				break
			}
		}
	}
	if exe == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chromium: CI installs Debian's chromium package")
		}
		t.Skip("no Chromium on PATH: apt-get install chromium (or set BRAZEN_CHROMIUM) to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe),
		chromedp.NoSandbox, chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelT)
	return ctx
}

// screenshot saves the page as NAME.png in $BRAZEN_SCREENSHOTS (or the
// test's temporary directory), to be looked at.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// curlStatus calls the REST API with curl, as an operator would, and
// returns the HTTP status.
func curlStatus(t *testing.T, addr, key, path, body string) string {
	t.Helper()
	out, err := exec.Command("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
		"http://"+addr+path, "-H", "Authorization: Bearer "+key, "-H", "Content-Type: application/json", "-d", body).Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	return string(out)
}

// TestConsoleInBrowser drives the real binary's console in headless
// Chromium as an operator would: create the first account with the setup
// link, log out and in, create a key with two permission groups and an
// allowlist (checked as typed), see it listed, use it with curl, delete
// it and see requests fail; then look at the users, message activity,
// API usage and instance pages.
func TestConsoleInBrowser(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl on PATH")
	}
	ctx := browser(t)
	shots := os.Getenv("BRAZEN_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	s := serve(t, dir, "--console-addr", "127.0.0.1:0")
	defer s.stop(t)
	var consoleAddr, setupURL string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		log := s.output()
		if m := consoleAddrLine.FindStringSubmatch(log); m != nil {
			consoleAddr = m[1]
		}
		if m := setupLinkLine.FindStringSubmatch(log); m != nil {
			setupURL = m[1]
		}
		if consoleAddr != "" && setupURL != "" {
			break
		}
	}
	if consoleAddr == "" || setupURL == "" {
		t.Fatalf("no console address or setup link on stderr:\n%s", s.output())
	}
	base := "http://" + consoleAddr
	// Some data for the pages: a user with an event and a purchase.
	if got := curlStatus(t, s.addr, s.key, "/users/track", `{"attributes":[{"external_id":"ada","first_name":"Ada","email":"ada@example.com","plan":"pro"}],
		"events":[{"external_id":"ada","name":"signed_up","time":"2026-11-20T10:00:00Z"}],
		"purchases":[{"external_id":"ada","product_id":"book","currency":"USD","price":12.5,"time":"2026-11-21T10:00:00Z"}]}`); got != "201" {
		t.Fatalf("track: %s", got)
	}

	const email, password = "ops@example.com", "a long console password"
	var text string
	// The setup link: create the first account; it logs in.
	do(t, ctx,
		chromedp.Navigate(setupURL),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.SendKeys(chromedp.CSS(`#confirm`), password),
	)
	screenshot(t, ctx, shots, "01-setup")
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.button.primary[href="/keys/new"]`)),
	)
	text = textOf(t, ctx, `header .who`)
	if text != email {
		t.Errorf("logged in as %q", text)
	}
	// The link works once.
	do(t, ctx,
		chromedp.Navigate(setupURL),
	)
	text = textOf(t, ctx, `main`)
	if !strings.Contains(text, "unknown, used or expired") {
		t.Errorf("the setup link worked twice: %q", text)
	}

	// Log out, fail a login, log in.
	do(t, ctx,
		chromedp.Navigate(base+"/keys"),
		chromedp.Click(chromedp.CSS(`form.logout button`)),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not the password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.error`)),
	)
	text = textOf(t, ctx, `.error`)
	if !strings.Contains(text, "not right") {
		t.Errorf("a wrong password: %q", text)
	}
	screenshot(t, ctx, shots, "02-login-refused")
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/keys/new"]`)),
	)

	// Create a key: all of User Data, one Messages permission, an
	// allowlist typed wrong first.
	var status string
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`a[href="/keys/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "CRM sync"),
		chromedp.Click(chromedp.CSS(`fieldset.group:nth-of-type(1) [data-select-all]`)),
		chromedp.Click(chromedp.CSS(`input[value="messages.send"]`)),
		chromedp.SendKeys(chromedp.CSS(`#allowed_ips`), "127.0.0.1\n300.1.2.3"),
	)
	status = textOf(t, ctx, `#ips-status`)
	if !strings.Contains(status, "300.1.2.3") {
		t.Errorf("the allowlist check as typed said %q", status)
	}
	screenshot(t, ctx, shots, "03-new-key-invalid-ip")
	// Correct it as a user would: erase the bad entry, type another.
	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#allowed_ips`), strings.Repeat("\b", len("300.1.2.3"))+"10.0.0.0/8"))
	status = textOf(t, ctx, `#ips-status`)
	checked := nodesOf(t, ctx, `input[name=permissions]:checked`)
	if status != "2 entries OK" || len(checked) != 14 { // 13 User Data + messages.send
		t.Errorf("before submitting: status %q, %d permissions checked", status, len(checked))
	}
	screenshot(t, ctx, shots, "04-new-key")
	var secret string
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`#key-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#secret`)),
	)
	secret = valueOf(t, ctx, `#secret`)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString(secret) {
		t.Fatalf("the new key shown is %q", secret)
	}
	screenshot(t, ctx, shots, "05-key-created")

	// Listed, with its permissions summarised and its allowlist.
	do(t, ctx,
		chromedp.Navigate(base+"/keys"),
	)
	text = textOf(t, ctx, `table.keys`)
	for _, want := range []string{"CRM sync", "14 permissions: User Data (all), Messages (1)", "127.0.0.1/32", "10.0.0.0/8", "never"} {
		if !strings.Contains(text, want) {
			t.Errorf("the key list lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, secret) {
		t.Error("the key list shows the secret")
	}
	screenshot(t, ctx, shots, "06-keys")

	// The key works with curl, within its permissions.
	if got := curlStatus(t, s.addr, secret, "/users/track", `{"attributes":[{"external_id":"bob","first_name":"Bob"}]}`); got != "201" {
		t.Errorf("track with the new key: %s", got)
	}
	if got := curlStatus(t, s.addr, secret, "/email/bounce/remove", `{"email":"x@example.com"}`); got != "403" {
		t.Errorf("an endpoint outside the key's permissions: %s", got)
	}

	// A message, for the activity pages: ada's webhook is delivered.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer hook.Close()
	if got := curlStatus(t, s.addr, s.key, "/messages/send", `{"external_user_ids":["ada"],"messages":{"webhook":{
		"url":"`+hook.URL+`/hook","request_method":"POST","body":"hi {{${first_name}}}"}}}`); got != "201" {
		t.Fatalf("send: %s", got)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, _ := exec.Command(binary, "messages", "events", "--data", filepath.Join(dir, "brazen-data")).Output()
		if strings.Contains(string(out), "delivered") {
			break
		}
	}

	// The other pages.
	do(t, ctx,
		chromedp.Navigate(base+"/users?by=external_id&q=ada"),
		chromedp.WaitVisible(chromedp.CSS(`.profile`)),
	)
	text = textOf(t, ctx, `.profile`)
	for _, want := range []string{"ada", `"Ada"`, "plan", "signed_up", "book", "12.50", "webhook", "delivered"} {
		if !strings.Contains(text, want) {
			t.Errorf("the profile lacks %q:\n%s", want, text)
		}
	}
	screenshot(t, ctx, shots, "07-user")
	time.Sleep(6 * time.Second) // the usage counts reach the store every 5 s
	for _, p := range []struct{ path, name, want string }{
		{"/messages", "08-messages", "delivered"},
		{"/usage?range=1h", "09-usage", "POST /users/track"},
		{"/instance", "10-instance", "http://" + s.addr},
	} {
		do(t, ctx,
			chromedp.Navigate(base+p.path),
		)
		text = textOf(t, ctx, `main`)
		if !strings.Contains(text, p.want) {
			t.Errorf("%s lacks %q:\n%s", p.path, p.want, text)
		}
		screenshot(t, ctx, shots, p.name)
	}
	// The recent sends, with their counters: one webhook delivered.
	do(t, ctx, chromedp.Navigate(base+"/messages"))
	if sends := textOf(t, ctx, `section.card table`); !strings.Contains(sends, "webhook") || !strings.Contains(sends, "1") {
		t.Errorf("recent sends:\n%s", sends)
	}

	// Every control of every page has a label a screen reader reads.
	for _, path := range []string{"/keys", "/keys/new", "/users?by=external_id&q=ada", "/messages", "/usage", "/instance", "/account", "/account?done=password"} {
		do(t, ctx, chromedp.Navigate(base+path))
		unlabeled, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(
			'input:not([type=hidden]), select, textarea, button')).filter(function (el) {
			if (el.tagName === 'BUTTON') return !(el.textContent.trim() || el.getAttribute('aria-label'));
			return !(el.labels && el.labels.length) && !el.getAttribute('aria-label');
		}).map(function (el) { return el.outerHTML.slice(0, 80); })`))
		if err != nil {
			t.Fatal(err)
		}
		if len(unlabeled) > 0 {
			t.Errorf("%s has controls without a label: %q", path, unlabeled)
		}
		// Readable contrast: every visible piece of text against what is
		// behind it meets WCAG AA (4.5:1, or 3:1 for large text).
		if path == "/account" {
			screenshot(t, ctx, shots, "13-account")
		}
		checked, err := chromedp.Run(ctx, chromedp.Evaluate[contrastReport](contrastCheck))
		if err != nil {
			t.Fatal(err)
		}
		if checked.Texts < 10 || len(checked.Low) > 0 {
			t.Errorf("contrast on %s: %d texts checked, below AA: %q", path, checked.Texts, checked.Low)
		}
		if path == "/keys/new" {
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('input:not([type=hidden]), select, textarea, button').length`))
			if err != nil || n < 130 { // every permission's box, the groups' select-all, name, allowlist, buttons
				t.Errorf("the label check saw %d controls on %s (%v)", n, path, err)
			}
		}
	}

	// The keyboard: the first Tab reaches the skip link; Space on a
	// group's select-all checks the group.
	do(t, ctx, chromedp.Navigate(base+"/keys/new"), chromedp.WaitVisible(chromedp.CSS(`#name`)), chromedp.KeyEvent("\t"))
	if first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.textContent.trim()`)); err != nil || first != "Skip to content" {
		t.Errorf("the first Tab focuses %q (%v), want the skip link", first, err)
	}
	do(t, ctx, chromedp.Focus(chromedp.CSS(`fieldset.group:nth-of-type(2) [data-select-all]`)), chromedp.KeyEvent(" "))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('fieldset.group:nth-of-type(2) input[name=permissions]:checked').length`)); err != nil || n != 6 {
		t.Errorf("Space on Email's select-all checked %d of its 6 permissions (%v)", n, err)
	}

	// Delete the key, confirming; requests with it then fail.
	do(t, ctx,
		chromedp.Navigate(base+"/keys"),
		chromedp.Click(chromedp.CSS(`a[aria-label="Delete key CRM sync"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button.danger`)),
	)
	screenshot(t, ctx, shots, "11-delete-confirm")
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`button.danger`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	text = textOf(t, ctx, `main`)
	if strings.Contains(text, "CRM sync") {
		t.Errorf("the deleted key is still listed:\n%s", text)
	}
	screenshot(t, ctx, shots, "12-deleted")
	if got := curlStatus(t, s.addr, secret, "/users/track", `{"attributes":[{"external_id":"bob","first_name":"Bob"}]}`); got != "401" {
		t.Errorf("track with the deleted key: %s, want 401", got)
	}

	// A forged cross-site form post is refused; a REST key does not open
	// the console.
	req, _ := http.NewRequest("POST", base+"/keys", strings.NewReader("name=evil&permissions=users.track"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site POST: %v %v", resp.StatusCode, err)
	}
	req, _ = http.NewRequest("GET", base+"/keys", nil)
	req.Header.Set("Authorization", "Bearer "+s.key)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("a REST key on the console: %v %v", resp.StatusCode, err)
	}
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func valueOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("value of %s: %v", sel, err)
	}
	return v
}

func nodesOf(t *testing.T, ctx context.Context, sel string) []*chromedp.Node {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSSAll(sel)))
	if err != nil {
		t.Fatalf("nodes %s: %v", sel, err)
	}
	return v
}

// contrastReport is what contrastCheck finds on a page.
type contrastReport struct {
	Texts int      `json:"texts"`
	Low   []string `json:"low"` // the texts below WCAG AA, with their ratio
}

// contrastCheck computes, in the page, the WCAG contrast ratio of every
// visible element's own text (an SVG text's fill) against the background
// it sits on: the nearest ancestors' background colours, blended where
// they are translucent, over white.
const contrastCheck = `(function () {
	function rgba(s) {
		var m = s.match(/rgba?\(([^)]+)\)/);
		if (!m) return null;
		var p = m[1].split(',').map(parseFloat);
		return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
	}
	function over(top, under) {
		var a = top[3];
		return [0, 1, 2].map(function (i) { return top[i] * a + under[i] * (1 - a); }).concat([1]);
	}
	function background(el) {
		var layers = [];
		for (var e = el; e && e.nodeType === 1; e = e.parentElement) {
			var c = rgba(getComputedStyle(e).backgroundColor);
			if (c && c[3] > 0) layers.push(c);
			if (c && c[3] >= 1) break;
		}
		var bg = [255, 255, 255, 1];
		for (var i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
		return bg;
	}
	function lum(c) {
		var v = [0, 1, 2].map(function (i) {
			var x = c[i] / 255;
			return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4);
		});
		return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
	}
	var report = {texts: 0, low: []};
	document.querySelectorAll('body *').forEach(function (el) {
		var own = Array.from(el.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim(); });
		if (!own || el.closest('title, script, style')) return;
		var r = el.getBoundingClientRect(), st = getComputedStyle(el);
		if (r.width === 0 || r.height === 0 || st.visibility === 'hidden' || parseFloat(st.opacity) === 0) return;
		var bg = background(el);
		var fg = rgba(el instanceof SVGElement ? st.fill : st.color);
		report.texts++;
		if (!fg) { report.low.push(el.textContent.trim().slice(0, 40) + ' (unread colour ' + (el instanceof SVGElement ? st.fill : st.color) + ')'); return; }
		fg = over(fg, bg);
		var a = lum(fg), b = lum(bg);
		var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
		var size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight, 10) >= 700;
		var need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
		if (ratio < need) report.low.push(el.textContent.trim().slice(0, 40) + ' (' + ratio.toFixed(2) + ':1)');
	});
	return report;
})()`
