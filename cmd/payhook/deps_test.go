package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryLinksNoTestKit (issue 18): the payhook binary links neither
// the testing package nor net/http/httptest, and no test kit of payhook's
// (payhooktest, kazawallettest, ...). What payhook send and the sandbox
// share with the kits lives in product packages: the provider packages'
// Senders and package deliver.
func TestBinaryLinksNoTestKit(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	list := exec.Command("go", "list", "-deps", ".")
	list.Dir = pkgDir // TestMain runs the tests in a temporary directory
	out, err := list.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !strings.Contains(string(out), "github.com/payhook/payhook/deliver\n") {
		t.Fatalf("go list -deps listed too little:\n%s", out)
	}
	for _, dep := range deps {
		ours := strings.HasPrefix(dep, "github.com/payhook/payhook")
		if dep == "testing" || dep == "net/http/httptest" || ours && strings.HasSuffix(dep, "test") {
			t.Errorf("payhook links %s", dep)
		}
	}
}
