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
// for now, and why.
var rootImportedBy = map[string]string{
	// LooseAmount converts to payhook.Amount; the providers decode with it.
	"github.com/payhook/payhook/internal/jsonx": "LooseAmount",
}

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

// TestConformanceKitsStandalone: a store's author runs idempotencytest, and
// a backend's inboxtest, with nothing but the standard library and the
// package under test: no testify, no payhook.
func TestConformanceKitsStandalone(t *testing.T) {
	for pkg, allowed := range map[string][]string{
		"./idempotency/idempotencytest": {"github.com/payhook/payhook/idempotency", "github.com/payhook/payhook/idempotency/idempotencytest"},
		"./inbox/inboxtest":             {"github.com/payhook/payhook/inbox", "github.com/payhook/payhook/inbox/inboxtest"},
	} {
		for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg) {
			if !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}
