package payhook_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// goList runs go list with args in the root module and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// rootImportedBy lists the internal packages allowed to import the root
// for now, and why: none.
var rootImportedBy = map[string]string{}

// TestInternalBelowRoot: an internal package helps what is above it and
// never imports the root package, as log/slog/internal/buffer imports
// nothing of slog.
func TestInternalBelowRoot(t *testing.T) {
	for _, line := range goList(t, "-f", "{{.ImportPath}}|{{join .Deps \"|\"}}", "./internal/...") {
		pkg, deps, _ := strings.Cut(line, "|")
		for _, dep := range strings.Split(deps, "|") {
			if dep == "github.com/payhook/payhook" && rootImportedBy[pkg] == "" {
				t.Errorf("%s imports the root package", pkg)
			}
		}
	}
}

// TestIdempotencytestStandalone: a store's author runs idempotencytest
// with nothing but the standard library and package idempotency: no
// testify, no payhook.
func TestIdempotencytestStandalone(t *testing.T) {
	allowed := []string{"github.com/payhook/payhook/idempotency", "github.com/payhook/payhook/idempotency/idempotencytest",
		"github.com/payhook/payhook/internal/sentinel"} // payhook's sentinel errors, standard library only
	for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./idempotency/idempotencytest") {
		if !slices.Contains(allowed, dep) {
			t.Errorf("idempotencytest imports %s", dep)
		}
	}
}
