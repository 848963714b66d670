package payhook_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os/exec"
	"path/filepath"
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
		// payhook's sentinel errors and option checks, standard library only
		"github.com/payhook/payhook/internal/sentinel", "github.com/payhook/payhook/internal/optcheck"}
	for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./idempotency/idempotencytest") {
		if !slices.Contains(allowed, dep) {
			t.Errorf("idempotencytest imports %s", dep)
		}
	}
}

// testSupport reports whether pkg exists for tests and may link the
// testing package: the test kits and conformance suites (their names end in
// "test") and everything under internal/testsupport (CONTRIBUTING.md).
func testSupport(pkg string) bool {
	return strings.HasSuffix(pkg, "test") || strings.HasPrefix(pkg, "github.com/payhook/payhook/internal/testsupport/")
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
		if testSupport(pkg) {
			continue
		}
		products++
		for _, dep := range strings.Split(deps, "|") {
			ours := strings.HasPrefix(dep, "github.com/payhook/payhook/")
			if dep == "testing" || dep == "net/http/httptest" || ours && testSupport(dep) {
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

// Bounds of a function of the root package (issue 18): the path of one
// delivery reads in one screen, each step a function whose name says it.
const (
	maxFuncLines      = 60
	maxFuncCyclomatic = 15
)

// TestCoreFunctionsAreShort: no function of the root package's non-test
// files is longer than maxFuncLines lines or more complex than
// maxFuncCyclomatic, counted as gocyclo does (1, plus one for each if,
// for, range, case, && and ||, func literals included).
func TestCoreFunctionsAreShort(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			checked++
			where := fset.Position(fn.Pos())
			if lines := fset.Position(fn.End()).Line - where.Line + 1; lines > maxFuncLines {
				t.Errorf("%s: %s is %d lines long, over %d", where, declName(fn), lines, maxFuncLines)
			}
			if c := cyclomatic(fn); c > maxFuncCyclomatic {
				t.Errorf("%s: %s has cyclomatic complexity %d, over %d", where, declName(fn), c, maxFuncCyclomatic)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no function checked")
	}
}

// declName is fn's name, with its receiver's type for a method.
func declName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	return types.ExprString(fn.Recv.List[0].Type) + "." + fn.Name.Name
}

// cyclomatic is fn's cyclomatic complexity, as gocyclo counts it.
func cyclomatic(fn *ast.FuncDecl) int {
	c := 1
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt, *ast.ForStmt, *ast.RangeStmt:
			c++
		case *ast.CaseClause:
			if n.List != nil {
				c++
			}
		case *ast.CommClause:
			if n.Comm != nil {
				c++
			}
		case *ast.BinaryExpr:
			if n.Op == token.LAND || n.Op == token.LOR {
				c++
			}
		}
		return true
	})
	return c
}

// TestCyclomatic checks the count on a function of known complexity.
func TestCyclomatic(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", `package x
func f(a, b bool, xs []int) {
	if a && b || a {}
	for range xs {}
	switch { case a: case b: default: }
	_ = func() { for {} }
}`, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := cyclomatic(f.Decls[0].(*ast.FuncDecl)); got != 8 {
		t.Errorf("cyclomatic = %d, want 8", got)
	}
}

// TestExpecttestStandalone: an expectations store's author runs expecttest
// with nothing but the standard library and package expect.
func TestExpecttestStandalone(t *testing.T) {
	allowed := []string{"github.com/payhook/payhook/expect", "github.com/payhook/payhook/expect/expecttest", "github.com/payhook/payhook/internal/decimal",
		// expect.Completer names idempotency.Store, which brings payhook's
		// sentinel errors and option checks (standard library only)
		"github.com/payhook/payhook/idempotency", "github.com/payhook/payhook/internal/sentinel", "github.com/payhook/payhook/internal/optcheck"}
	for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./expect/expecttest") {
		if !slices.Contains(allowed, dep) {
			t.Errorf("expecttest imports %s", dep)
		}
	}
}
