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
	allowed := []string{"github.com/payhook/payhook/idempotency", "github.com/payhook/payhook/idempotency/idempotencytest"}
	for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./idempotency/idempotencytest") {
		if !slices.Contains(allowed, dep) {
			t.Errorf("idempotencytest imports %s", dep)
		}
	}
}

// testSupport lists the packages, besides those whose name ends in "test"
// (the test kits, the conformance suites, internal/providertest), that
// exist for tests and may link the testing package.
var testSupport = map[string]bool{
	"github.com/payhook/payhook/internal/testserver":       true,
	"github.com/payhook/payhook/inbox/internal/inboxcrash": true,
}

// TestProductLinksNoTestKit (issue 18): product code never imports a test
// kit. What payhook send and the sandbox share with the kits lives in
// product packages (package deliver, the providers' Senders), and the *test
// packages wrap it for testing.TB. cmd/payhook's TestBinaryLinksNoTestKit
// checks the binary itself.
func TestProductLinksNoTestKit(t *testing.T) {
	products := 0
	for _, line := range goList(t, "-f", "{{.ImportPath}}|{{join .Deps \"|\"}}", "./...") {
		pkg, deps, _ := strings.Cut(line, "|")
		if strings.HasSuffix(pkg, "test") || testSupport[pkg] {
			continue
		}
		products++
		for _, dep := range strings.Split(deps, "|") {
			ours := strings.HasPrefix(dep, "github.com/payhook/payhook/")
			if dep == "testing" || dep == "net/http/httptest" || ours && (strings.HasSuffix(dep, "test") || testSupport[dep]) {
				t.Errorf("%s links %s", pkg, dep)
			}
		}
	}
	if products < 10 {
		t.Fatalf("only %d product packages listed", products)
	}
}

// TestDeliverStandalone: package deliver, which payhook send, the sandbox,
// the providers' Senders and the tests post with, imports nothing but the
// standard library.
func TestDeliverStandalone(t *testing.T) {
	deps := goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./deliver")
	if !slices.Equal(deps, []string{"github.com/payhook/payhook/deliver"}) {
		t.Errorf("deliver imports %v", deps)
	}
}
