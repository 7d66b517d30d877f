package brazeapi

import (
	"fmt"
	"strings"
)

// OpenAPI returns an OpenAPI 3.1 document for the REST surface, built from
// the route table so it can never drift from what is served.
func OpenAPI(version string) map[string]any {
	errorRef := map[string]any{"$ref": "#/components/schemas/Error"}
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{
			"application/json": map[string]any{"schema": errorRef}}}
	}
	rateHeaders := map[string]any{
		"X-RateLimit-Limit":     map[string]any{"$ref": "#/components/headers/RateLimitLimit"},
		"X-RateLimit-Remaining": map[string]any{"$ref": "#/components/headers/RateLimitRemaining"},
		"X-RateLimit-Reset":     map[string]any{"$ref": "#/components/headers/RateLimitReset"},
	}
	paths := map[string]any{}
	for _, r := range Routes(nil) {
		op := map[string]any{
			"operationId": operationID(r.Method, r.Path),
			"summary":     fmt.Sprintf("%s %s", r.Method, r.Path),
			"description": describe(r),
			"tags":        []string{tag(r.Path)},
		}
		if r.Permission != "" {
			op["x-braze-permission"] = r.Permission
			op["x-rate-limit"] = map[string]any{"group": r.LimitGroup, "limit": r.Limit.N, "window_seconds": int64(r.Limit.Window.Seconds())}
			op["security"] = []any{map[string]any{"bearer": []string{}}}
			op["responses"] = map[string]any{
				"401": errResp("Missing or unknown REST API key."),
				"403": map[string]any{"description": "The key lacks the permission (Access Denied) or the caller is outside its IP allowlist (Invalid whitelisted IPs).",
					"headers": rateHeaders, "content": map[string]any{"application/json": map[string]any{"schema": errorRef}}},
				"429": map[string]any{"description": "Rate Limited.", "headers": rateHeaders,
					"content": map[string]any{"application/json": map[string]any{"schema": errorRef}}},
				"501": map[string]any{"description": "Not implemented by Brazen yet.", "headers": rateHeaders,
					"content": map[string]any{"application/json": map[string]any{"schema": errorRef}}},
			}
		} else {
			op["security"] = []any{map[string]any{"scim": []string{}}}
			op["responses"] = map[string]any{
				"401": map[string]any{"description": "Missing SCIM token or X-Request-Origin."},
				"501": map[string]any{"description": "Brazen has no SCIM tokens yet."},
			}
		}
		if hasBodyMethod(r.Method) {
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"type": "object"}}}}
			resp := op["responses"].(map[string]any)
			resp["400"] = errResp("Bad Request: malformed JSON or invalid fields.")
			resp["413"] = errResp("The body is over the endpoint's limit.")
		}
		var params []any
		for _, p := range pathParams(r.Path) {
			params = append(params, map[string]any{"name": p, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		item, _ := paths[r.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[r.Path] = item
		}
		item[strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Brazen REST API (Braze-compatible)",
			"version":     version,
			"description": "The Braze REST API as Brazen serves it. Each operation names its Braze permission (x-braze-permission) and rate-limit group (x-rate-limit).",
		},
		"paths": paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "A REST API key: Authorization: Bearer KEY."},
				"scim":   map[string]any{"type": "http", "scheme": "bearer", "description": "A SCIM token, with an X-Request-Origin header."},
			},
			"schemas": map[string]any{
				"Error": map[string]any{
					"type":     "object",
					"required": []string{"message"},
					"properties": map[string]any{
						"message":    map[string]any{"type": "string"},
						"errors":     map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
						"request_id": map[string]any{"type": "string"},
					},
				},
			},
			"headers": map[string]any{
				"RateLimitLimit":     map[string]any{"description": "Requests allowed in the current window.", "schema": map[string]any{"type": "integer"}},
				"RateLimitRemaining": map[string]any{"description": "Requests left in the current window.", "schema": map[string]any{"type": "integer"}},
				"RateLimitReset":     map[string]any{"description": "End of the current window, Unix seconds.", "schema": map[string]any{"type": "integer"}},
			},
		},
	}
}

func hasBodyMethod(m string) bool { return m == "POST" || m == "PUT" || m == "PATCH" }

func describe(r Route) string {
	s := "Braze status: " + r.Status + ". "
	if r.Built {
		s += "Served by Brazen."
	} else {
		s += "Not implemented by Brazen yet: answers 501 after authentication and rate limiting."
	}
	return s
}

func tag(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if parts[0] == "v2" || parts[0] == "transactional" {
		return parts[1]
	}
	return parts[0]
}

func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"))
		}
	}
	return out
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, seg := range strings.Split(path, "/") {
		seg = strings.Trim(seg, "{}")
		for _, w := range strings.FieldsFunc(seg, func(r rune) bool { return r == '_' || r == '.' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
