// Package liquid renders message templates written in Braze's Liquid
// dialect. A preprocessor rewrites the dialect's own syntax into standard
// Liquid, which github.com/osteele/liquid then parses and renders:
//
//	{{${first_name}}}                  → {{first_name}}
//	{{custom_attribute.${Fav Color}}}  → {{custom_attribute["Fav Color"]}}
//	{{${name with spaces}}}            → {{__top["name with spaces"]}}
//	{% abort_message("reason") %}      → {% abort_message "reason" %}
//
// Text outside {{ }} and {% %}, string literals inside them, and
// {% raw %} blocks are left alone.
package liquid

import (
	"fmt"
	"strings"
)

// topLevel is the binding that holds every top-level value by name, for
// placeholders whose names are not Liquid identifiers.
const topLevel = "__top"

// Preprocess rewrites Braze's dialect into standard Liquid. It fails on a
// placeholder or a {{ }} / {% %} region left open.
func Preprocess(src string) (string, error) {
	var out strings.Builder
	out.Grow(len(src) + len(src)/8)
	for i := 0; i < len(src); {
		open := indexRegion(src, i)
		if open < 0 {
			out.WriteString(src[i:])
			break
		}
		out.WriteString(src[i:open])
		tag := src[open+1] == '%'
		end, body, err := region(src, open+2, tag)
		if err != nil {
			return "", err
		}
		if tag && isTag(body, "raw") {
			// {% raw %}…{% endraw %}: copied as it is, Braze syntax included.
			stop := indexEndRaw(src, end)
			if stop < 0 {
				return "", fmt.Errorf("{%% raw %%} at byte %d is never closed by {%% endraw %%}", open)
			}
			out.WriteString(src[open:stop])
			i = stop
			continue
		}
		if tag {
			out.WriteString("{%")
			out.WriteString(abortArgs(body))
			out.WriteString("%}")
		} else {
			out.WriteString("{{")
			out.WriteString(body)
			out.WriteString("}}")
		}
		i = end
	}
	return out.String(), nil
}

// indexRegion returns where the next {{ or {% starts at or after i.
func indexRegion(s string, i int) int {
	for {
		j := strings.IndexByte(s[i:], '{')
		if j < 0 || i+j+1 >= len(s) {
			return -1
		}
		if c := s[i+j+1]; c == '{' || c == '%' {
			return i + j
		}
		i += j + 1
	}
}

// region scans a region's body from start, rewriting placeholders, up to
// its closing }} or %}; it returns the index after the closing delimiter.
func region(s string, start int, tag bool) (end int, body string, err error) {
	closing := byte('}')
	if tag {
		closing = '%'
	}
	var b []byte
	for i := start; i < len(s); {
		c := s[i]
		switch {
		case c == closing && i+1 < len(s) && s[i+1] == '}':
			return i + 2, string(b), nil
		case c == '\'' || c == '"':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return 0, "", fmt.Errorf("a string opened at byte %d is never closed", i)
			}
			b = append(b, s[i:i+j+2]...)
			i += j + 2
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			j := strings.IndexByte(s[i+2:], '}')
			if j < 0 {
				return 0, "", fmt.Errorf("the placeholder ${ at byte %d is never closed", i)
			}
			name := strings.TrimSpace(s[i+2 : i+2+j])
			key, ok := quote(name)
			if !ok {
				return 0, "", fmt.Errorf("the placeholder at byte %d holds both kinds of quote", i)
			}
			if n := len(b); n > 0 && b[n-1] == '.' {
				// namespace.${key}: a key of the namespace, any characters.
				b = append(b[:n-1], "["+key+"]"...)
			} else if isIdent(name) {
				b = append(b, name...)
			} else {
				b = append(b, topLevel+"["+key+"]"...)
			}
			i += j + 3
		default:
			b = append(b, c)
			i++
		}
	}
	kind := "{{"
	if tag {
		kind = "{%"
	}
	return 0, "", fmt.Errorf("%s at byte %d is never closed", kind, start-2)
}

// quote makes a Liquid string literal of s; Liquid has no escapes, so s
// must lack one of the two quote characters.
func quote(s string) (string, bool) {
	switch {
	case !strings.Contains(s, `"`):
		return `"` + s + `"`, true
	case !strings.Contains(s, "'"):
		return "'" + s + "'", true
	}
	return "", false
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// isTag reports whether a {% %} body is the tag name (with no arguments).
func isTag(body, name string) bool {
	return strings.TrimSpace(strings.Trim(body, "-")) == name
}

func indexEndRaw(s string, from int) int {
	for i := from; ; {
		j := strings.Index(s[i:], "{%")
		if j < 0 {
			return -1
		}
		body := i + j + 2
		k := strings.Index(s[body:], "%}")
		if k < 0 {
			return -1
		}
		if isTag(s[body:body+k], "endraw") {
			return body + k + 2
		}
		i = body
	}
}

// abortArgs turns Braze's call syntax, abort_message("reason"), into a tag
// with an argument, abort_message "reason".
func abortArgs(body string) string {
	t := strings.TrimLeft(body, " \t\r\n-")
	if !strings.HasPrefix(t, "abort_message") {
		return body
	}
	lead := body[:len(body)-len(t)]
	rest := strings.TrimSpace(strings.TrimPrefix(t, "abort_message"))
	trail := ""
	if strings.HasSuffix(rest, "-") {
		rest, trail = strings.TrimSpace(rest[:len(rest)-1]), "-"
	}
	if strings.HasPrefix(rest, "(") && strings.HasSuffix(rest, ")") {
		rest = strings.TrimSpace(rest[1 : len(rest)-1])
	}
	return lead + "abort_message " + rest + " " + trail
}
