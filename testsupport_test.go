package payhook_test

import (
	"strings"
	"testing"
)

// TestTestSupportOnlyInTests: the packages of internal/testsupport help
// tests only; no package of the repository imports them outside its
// _test.go files, so that no binary or library links them (CONTRIBUTING,
// "Test support").
func TestTestSupportOnlyInTests(t *testing.T) {
	const prefix = "github.com/payhook/payhook/internal/testsupport/"
	lines := goList(t, "-f", "{{.ImportPath}}|{{join .Imports \"|\"}}", "github.com/payhook/payhook/...")
	if len(lines) < 20 {
		t.Fatalf("go list found %d packages: the workspace was not listed", len(lines))
	}
	for _, line := range lines {
		pkg, imports, _ := strings.Cut(line, "|")
		if strings.HasPrefix(pkg, prefix) {
			continue // one test-support package may build on another
		}
		for _, imp := range strings.Split(imports, "|") {
			if strings.HasPrefix(imp, prefix) {
				t.Errorf("%s imports %s outside its tests", pkg, imp)
			}
		}
	}
}
