package payhooktest_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAddingAProvider builds and tests testdata/acmepay, a made-up fourth
// provider written by following CONTRIBUTING.md's "Adding a provider", in
// place: as providers/acmepay and providers/acmepay/acmepaytest of this
// module, through a go build overlay that adds its files and changes none.
// Its tests run the provider conformance suite and payhook.Handle.
func TestAddingAProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two packages with the go command")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "payhooktest", "testdata", "acmepay")
	replace := map[string]string{}
	err = filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		dst := filepath.Join(root, "providers", "acmepay", rel)
		if _, err := os.Stat(dst); err == nil {
			t.Errorf("%s exists: the overlay must add files, never replace one", dst)
		}
		replace[dst] = path
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(t.TempDir(), "overlay.json")
	b, _ := json.Marshal(map[string]any{"Replace": replace})
	if err := os.WriteFile(overlay, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"./providers/acmepay", "./providers/acmepay/acmepaytest"} {
		bin := filepath.Join(t.TempDir(), filepath.Base(pkg)+".test")
		build := exec.Command(goBin, "test", "-c", "-vet=off", "-overlay", overlay, "-o", bin, pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go test -c %s: %v\n%s", pkg, err, out)
		}
		run := exec.Command(bin, "-test.v")
		run.Dir = t.TempDir() // the package's directory exists only in the overlay
		out, err := run.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", pkg, err, out)
		}
		if !strings.Contains(string(out), "--- PASS") {
			t.Errorf("%s ran no test:\n%s", pkg, out)
		}
		t.Logf("%s:\n%s", pkg, out)
	}
}
