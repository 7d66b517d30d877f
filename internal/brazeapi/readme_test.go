package brazeapi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeCoverageTable keeps README.md's endpoint table equal to the
// route table: regenerate it with `brazen routes --markdown`.
func TestReadmeCoverageTable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- routes:begin -->\n", "<!-- routes:end -->"
	s := string(raw)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the %q … %q markers", begin, end)
	}
	if got, want := s[i+len(begin):j], RoutesMarkdown(); got != want {
		t.Errorf("README.md's endpoint table is stale; replace it with the output of 'brazen routes --markdown'")
	}
}
