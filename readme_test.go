package payhook_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeQuickStartHasTimeouts (issue 8, finding 8): the README's quick
// start is what people copy. It must serve through an http.Server with the
// timeouts that keep a slow client (slowloris) from holding connections,
// never http.ListenAndServe, which has none.
func TestReadmeQuickStartHasTimeouts(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	require.True(t, ok, "the README has a quick start")
	_, code, ok := strings.Cut(section, "```go\n")
	require.True(t, ok)
	code, _, _ = strings.Cut(code, "```")
	f, err := parser.ParseFile(token.NewFileSet(), "quickstart.go", code, 0)
	require.NoError(t, err, "the quick start is a Go file")

	fields := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "http" && sel.Sel.Name == "ListenAndServe" {
					t.Errorf("the quick start calls http.ListenAndServe, which has no timeouts")
				}
			}
		case *ast.CompositeLit:
			if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Server" {
				for _, e := range n.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						fields[kv.Key.(*ast.Ident).Name] = true
					}
				}
			}
		}
		return true
	})
	for _, f := range []string{"ReadHeaderTimeout", "ReadTimeout", "WriteTimeout", "IdleTimeout"} {
		assert.True(t, fields[f], "the quick start's http.Server sets %s", f)
	}
}
