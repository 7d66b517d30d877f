package schema

import (
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"m/0002_users.sql": {Data: []byte("B")},
		"m/0001_init.sql":  {Data: []byte("A")},
		"m/0010_more.sql":  {Data: []byte("C")},
	}, "m")
	if err != nil || len(ms) != 3 || ms[0].Version != 1 || ms[0].Name != "init" || ms[0].SQL != "A" || ms[2].Version != 10 {
		t.Fatalf("Load = %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no number":      {"m/init.sql": {}},
		"not sql":        {"m/0001_init.txt": {}},
		"same version":   {"m/0001_a.sql": {}, "m/0001_b.sql": {}},
		"missing folder": {},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: Load accepted it", name)
		}
	}
}
