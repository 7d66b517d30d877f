package liquid

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brazenhq/brazen/internal/brazen"
	"github.com/brazenhq/brazen/internal/golden"
)

func TestPreprocess(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"standard attribute", `Hi {{${first_name}}}!`, `Hi {{first_name}}!`},
		{"spaces inside", `{{ ${first_name} | default: 'there' }}`, `{{ first_name | default: 'there' }}`},
		{"custom attribute", `{{custom_attribute.${plan}}}`, `{{custom_attribute["plan"]}}`},
		{"custom attribute with spaces", `{{custom_attribute.${Fav Color}}}`, `{{custom_attribute["Fav Color"]}}`},
		{"name with a double quote", `{{custom_attribute.${say "hi"}}}`, `{{custom_attribute['say "hi"']}}`},
		{"nested", `{{custom_attribute.${address}.city}}`, `{{custom_attribute["address"].city}}`},
		{"top level, not an identifier", `{{${odd-name}}}`, `{{__top["odd-name"]}}`},
		{"trigger properties", `{{api_trigger_properties.${order_id}}}`, `{{api_trigger_properties["order_id"]}}`},
		{"in a tag", `{% if ${first_name} == "Ada" %}x{% endif %}`, `{% if first_name == "Ada" %}x{% endif %}`},
		{"abort with a reason", `{% abort_message("no plan") %}`, `{% abort_message "no plan" %}`},
		{"abort without", `{% abort_message() %}`, `{% abort_message  %}`},
		{"string literal untouched", `{{ "${not_a_placeholder}" }}`, `{{ "${not_a_placeholder}" }}`},
		{"text untouched", `cost: ${5} {not liquid}`, `cost: ${5} {not liquid}`},
		{"raw block", `{% raw %}{{${first_name}}}{% endraw %} {{${first_name}}}`, `{% raw %}{{${first_name}}}{% endraw %} {{first_name}}`},
		{"assign", `{% assign p = custom_attribute.${plan} %}{{p}}`, `{% assign p = custom_attribute["plan"] %}{{p}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Preprocess(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Preprocess(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPreprocessErrors(t *testing.T) {
	for _, in := range []string{
		`{{${first_name}`,
		`{{ ${first_name`,
		`{% if x %`,
		`{{ "open }}`,
		`{% raw %}never closed`,
		`{{custom_attribute.${a"b'c}}}`,
	} {
		if got, err := Preprocess(in); err == nil {
			t.Errorf("Preprocess(%s) = %s, want an error", in, got)
		}
	}
}

// user is the profile the rendering cases personalise for.
func user() *brazen.Profile {
	return &brazen.Profile{
		BrazeID: "65f3a1b2c3d4e5f601234567", ExternalID: "user-1", Email: "ada@example.com", Phone: "+15555550100",
		Standard: map[string]any{"first_name": "Ada", "last_name": "Lovelace", "home_city": "London", "country": "GB",
			"dob": "1815-12-10", "language": "en", "time_zone": "Europe/London", "email_subscribe": "opted_in"},
		Custom: map[string]any{"plan": "pro", "Fav Color": "blue", "visits": json.Number("41"), "ratio": json.Number("0.25"),
			"tags": []any{"a", "b"}, "address": map[string]any{"city": "Paris", "zip": json.Number("75001")}},
	}
}

// TestRender renders each testdata/*.liquid for the same user and
// compares with its .golden file (go test -update rewrites them).
func TestRender(t *testing.T) {
	files, err := filepath.Glob("testdata/*.liquid")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates in testdata: %v", err)
	}
	e := NewEngine()
	b := UserBindings(user(), Context{
		TriggerProperties: map[string]any{"order_id": "A-17", "items": []any{map[string]any{"name": "Book", "price": json.Number("9.5")}}},
		Campaign:          map[string]any{"dispatch_id": "d-1", "api_id": "c-1", "name": "Welcome"},
		Extra:             map[string]any{"set_user_to_unsubscribed_url": "https://brazen.example/unsubscribe?u=1"},
	})
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src := readFile(t, f)
			tpl, err := e.Compile(src)
			var got string
			if err != nil {
				got = "compile error: " + err.Error() + "\n"
			} else if got, err = tpl.Render(b); err != nil {
				var ab *AbortError
				if errors.As(err, &ab) {
					got = "aborted: " + ab.Reason + "\n"
				} else {
					got = "render error: " + err.Error() + "\n"
				}
			}
			golden.Check(t, strings.TrimSuffix(f, ".liquid")+".golden", got)
		})
	}
}

func TestAbortIsPerRender(t *testing.T) {
	e := NewEngine()
	tpl, err := e.Compile(`{% if custom_attribute.${plan} == "free" %}{% abort_message("free plan") %}{% endif %}Hello {{${first_name}}}`)
	if err != nil {
		t.Fatal(err)
	}
	free, pro := user(), user()
	free.Custom["plan"] = "free"
	done := make(chan struct{})
	for range 8 { // concurrently: one user's abort must not leak into another's render
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				if _, err := tpl.Render(UserBindings(free, Context{})); !isAbort(err, "free plan") {
					t.Errorf("free user: %v, want the abort", err)
				}
				if out, err := tpl.Render(UserBindings(pro, Context{})); err != nil || out != "Hello Ada" {
					t.Errorf("pro user: %q, %v", out, err)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func isAbort(err error, reason string) bool {
	var ab *AbortError
	return errors.As(err, &ab) && ab.Reason == reason
}

func TestTimeZoneFilter(t *testing.T) {
	e := NewEngine()
	tpl, err := e.Compile(`{{ "2026-11-26T12:00:00Z" | time_zone: "America/New_York" | date: "%H:%M" }}`)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tpl.Render(Bindings{}); err != nil || out != "07:00" {
		t.Errorf("time_zone then date = %q, %v; want 07:00", out, err)
	}
}

// FuzzPreprocess: any text either fails to preprocess with an error, or
// gives Liquid that the engine parses or rejects with an error — never a
// panic — and text without {{ or {% passes unchanged.
func FuzzPreprocess(f *testing.F) {
	for _, s := range []string{`Hi {{${first_name}}}`, `{% abort_message("x") %}`, `{{custom_attribute.${a b}.c}}`,
		`{% raw %}{{${x}}}{% endraw %}`, `{{ "${x}" }}`, `{{${`, `{%`, `}}`, `${a}`} {
		f.Add(s)
	}
	e := NewEngine()
	f.Fuzz(func(t *testing.T, src string) {
		out, err := Preprocess(src)
		if err != nil {
			return
		}
		if !strings.Contains(src, "{{") && !strings.Contains(src, "{%") && out != src {
			t.Fatalf("plain text changed: %q → %q", src, out)
		}
		if tpl, err := e.Compile(src); err == nil {
			tpl.Render(UserBindings(user(), Context{}))
		}
	})
}

func BenchmarkRenderEmail(b *testing.B) {
	e := NewEngine()
	tpl, err := e.Compile(readFile(b, "testdata/email.liquid"))
	if err != nil {
		b.Fatal(err)
	}
	bind := UserBindings(user(), Context{Extra: map[string]any{"set_user_to_unsubscribed_url": "https://x/u"}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := tpl.Render(bind); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
