package brazeapi

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestOpenAPI(t *testing.T) {
	raw, err := json.Marshal(OpenAPI("test"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	ops, ids := 0, map[string]bool{}
	for path, item := range doc.Paths {
		for method, op := range item {
			ops++
			id := op["operationId"].(string)
			if ids[id] {
				t.Errorf("duplicate operationId %s", id)
			}
			ids[id] = true
			params, _ := op["parameters"].([]any)
			if want := strings.Count(path, "{"); len(params) != want {
				t.Errorf("%s %s declares %d path parameters, want %d", method, path, len(params), want)
			}
		}
	}
	if ops != len(endpointTable) || doc.OpenAPI != "3.1.0" {
		t.Errorf("%d operations (want %d), openapi %q", ops, len(endpointTable), doc.OpenAPI)
	}
}
