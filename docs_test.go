package payhook_test

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Go snippets of the README and of docs/ are not written in the
// Markdown: each comes from a file that go test compiles, named by the
// comment on the line before its fence:
//
//	<!-- embed: examples/quickstart/main.go -->        the whole file
//	<!-- embed: example_test.go#ExampleHandle -->      an example's body
//	<!-- embed: examples/internal/shop/orders.go#Order.Pays -->
//	                                                   a declaration, whole
//
// An Example function gives its body, without its outer indentation and
// cut before "// Output:", since the expected output is the test's, not
// the reader's. Any other name gives its declaration as it stands in the
// file, doc comment included: a function, a method (Type.Method), a type,
// a var or a const. Paths are relative to the repository's root, and may
// name a file of any module, or one that is not Go (a SQL file).
//
// TestDocsSnippets fails when a Go block has no such comment, when a
// comment has no block after it, or when a block differs from its source;
// go test -run TestDocsSnippets -update . rewrites the blocks.

var update = flag.Bool("update", false, "rewrite the Markdown's embedded snippets from their sources")

// markdownFiles are the pages whose snippets and links are checked.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"README.md", "CONTRIBUTING.md", "BENCHMARKS.md"}, docs...)
}

var (
	embedRe = regexp.MustCompile(`^<!-- embed: ([^ #]+)(?:#([A-Za-z0-9_.]+))? -->$`)
	fenceRe = regexp.MustCompile("^([ \t]*)(```+)[ \t]*([^ \t`]*)")
)

func TestDocsSnippets(t *testing.T) {
	for _, f := range markdownFiles(t) {
		t.Run(f, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out, errs := embed(src)
			for _, e := range errs {
				t.Errorf("%s:%s", f, e)
			}
			if bytes.Equal(out, src) {
				return
			}
			if *update {
				if err := os.WriteFile(f, out, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Errorf("%s:%d: a snippet differs from its source: run go test -run TestDocsSnippets -update . and review the diff",
				f, firstDifference(src, out))
		})
	}
}

// firstDifference returns the number of the first line where a and b
// differ.
func firstDifference(a, b []byte) int {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// embed returns md with every embedded block replaced by its source, and
// the problems found, each as "line: what".
func embed(md []byte) ([]byte, []string) {
	lines := strings.SplitAfter(string(md), "\n")
	var out strings.Builder
	var errs []string
	pending := 0 // the line of an embed comment waiting for its fence
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		out.WriteString(line)
		trimmed := strings.TrimSpace(line)
		fence := fenceRe.FindStringSubmatch(strings.TrimRight(line, "\n"))
		if fence == nil {
			if pending > 0 {
				errs = append(errs, fmt.Sprintf("%d: an embed comment with no fenced block right after it", pending))
				pending = 0
			}
			if embedRe.MatchString(trimmed) {
				pending = i + 1
			}
			continue
		}
		pending = 0
		indent, ticks, lang := fence[1], fence[2], fence[3]
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != ticks {
			end++
		}
		if end == len(lines) {
			errs = append(errs, fmt.Sprintf("%d: a fenced block that is never closed", i+1))
		}
		body := strings.Join(lines[i+1:end], "")
		var m []string
		if i > 0 {
			m = embedRe.FindStringSubmatch(strings.TrimSpace(lines[i-1]))
		}
		switch {
		case m != nil:
			code, err := snippet(m[1], m[2])
			if err != nil {
				errs = append(errs, fmt.Sprintf("%d: %v", i+1, err))
			} else {
				body = indentLines(code, indent)
			}
		case lang == "go":
			errs = append(errs, fmt.Sprintf("%d: a Go block with no <!-- embed: FILE[#NAME] --> comment before it", i+1))
		}
		out.WriteString(body)
		if end < len(lines) {
			out.WriteString(lines[end])
		}
		i = end
	}
	if pending > 0 {
		errs = append(errs, fmt.Sprintf("%d: an embed comment with no fenced block right after it", pending))
	}
	return []byte(out.String()), errs
}

// indentLines puts indent before every line of code that is not empty,
// for a block inside a list item.
func indentLines(code, indent string) string {
	if indent == "" {
		return code
	}
	lines := strings.SplitAfter(code, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = indent + l
		}
	}
	return strings.Join(lines, "")
}

// snippet returns the text of file, or of its declaration name (the body
// of an Example), ending in a newline.
func snippet(file, name string) (string, error) {
	src, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		return "", err
	}
	if name == "" {
		return string(src), nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	offset := func(p token.Pos) int { return fset.Position(p).Offset }
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if funcName(d) != name {
				continue
			}
			if strings.HasPrefix(name, "Example") && d.Recv == nil {
				if d.Body == nil {
					return "", fmt.Errorf("%s: %s has no body", file, name)
				}
				return exampleBody(string(src[offset(d.Body.Lbrace)+1 : offset(d.Body.Rbrace)])), nil
			}
			return declText(src, d.Doc, d, offset), nil
		case *ast.GenDecl:
			for _, s := range d.Specs {
				var names []*ast.Ident
				switch s := s.(type) {
				case *ast.TypeSpec:
					names = []*ast.Ident{s.Name}
				case *ast.ValueSpec:
					names = s.Names
				}
				if slices.ContainsFunc(names, func(id *ast.Ident) bool { return id.Name == name }) {
					return declText(src, d.Doc, d, offset), nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s has no declaration %s", file, name)
}

// funcName is "F" for a function, "T.M" for a method of T or *T.
func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return d.Name.Name
	}
	t := d.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if g, ok := t.(*ast.IndexExpr); ok { // a generic type's method
		t = g.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + d.Name.Name
	}
	return d.Name.Name
}

// declText is a declaration's text, from its doc comment to its end.
func declText(src []byte, doc *ast.CommentGroup, n ast.Node, offset func(token.Pos) int) string {
	start := offset(n.Pos())
	if doc != nil {
		start = offset(doc.Pos())
	}
	return string(src[start:offset(n.End())]) + "\n"
}

// exampleBody is an example's body without its outer indentation, cut
// before its expected output.
func exampleBody(body string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.Trim(body, "\n"), "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "// Output:") || strings.HasPrefix(t, "// Unordered output:") {
			break
		}
		b.WriteString(strings.TrimPrefix(l, "\t"))
		b.WriteString("\n")
	}
	return b.String()
}

// TestEmbed checks the machinery of TestDocsSnippets on a file of its own.
func TestEmbed(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "x_test.go")
	err := os.WriteFile(src, []byte("package x_test\n\n"+
		"// T is a type.\ntype T struct{}\n\n"+
		"// M is a method.\nfunc (*T) M() {}\n\n"+
		"func ExampleT() {\n\tfmt.Println(1)\n\tif true {\n\t\tfmt.Println(2)\n\t}\n\t// Output:\n\t// 1\n}\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	src = filepath.ToSlash(src)
	tests := []struct {
		name, md, want string
		errs           int
	}{
		{name: "an example's body", md: "<!-- embed: " + src + "#ExampleT -->\n```go\nold\n```\n",
			want: "<!-- embed: " + src + "#ExampleT -->\n```go\nfmt.Println(1)\nif true {\n\tfmt.Println(2)\n}\n```\n"},
		{name: "a type with its doc", md: "<!-- embed: " + src + "#T -->\n```go\n```\n",
			want: "<!-- embed: " + src + "#T -->\n```go\n// T is a type.\ntype T struct{}\n```\n"},
		{name: "a method", md: "<!-- embed: " + src + "#T.M -->\n```go\n```\n",
			want: "<!-- embed: " + src + "#T.M -->\n```go\n// M is a method.\nfunc (*T) M() {}\n```\n"},
		{name: "inside a list item", md: "1. Run:\n\n   <!-- embed: " + src + "#T -->\n   ```go\n   ```\n",
			want: "1. Run:\n\n   <!-- embed: " + src + "#T -->\n   ```go\n   // T is a type.\n   type T struct{}\n   ```\n"},
		{name: "a Go block without a source", md: "```go\nx := 1\n```\n", want: "```go\nx := 1\n```\n", errs: 1},
		{name: "other blocks need none", md: "```sh\ngo test\n```\n", want: "```sh\ngo test\n```\n"},
		{name: "a comment without its block", md: "<!-- embed: " + src + "#T -->\n\ntext\n", want: "<!-- embed: " + src + "#T -->\n\ntext\n", errs: 1},
		{name: "a missing declaration", md: "<!-- embed: " + src + "#U -->\n```go\nkept\n```\n",
			want: "<!-- embed: " + src + "#U -->\n```go\nkept\n```\n", errs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := embed([]byte(tt.md))
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if len(errs) != tt.errs {
				t.Errorf("errors %q, want %d", errs, tt.errs)
			}
		})
	}
}

var (
	linkRe    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	headingRe = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	codeRe    = regexp.MustCompile("`[^`\n]*`")
)

// notYet are files the pages link to that someone else is writing; the
// test fails once one exists, so that it leaves this list.
var notYet = map[string]string{}

// TestDocsLinks: every relative link of the Markdown names a file or
// directory that exists, and every #anchor a heading of the page it names.
func TestDocsLinks(t *testing.T) {
	anchors := map[string][]string{}
	anchorsOf := func(page string) []string {
		if a, ok := anchors[page]; ok {
			return a
		}
		src, _ := os.ReadFile(page)
		var a []string
		for _, m := range headingRe.FindAllStringSubmatch(stripFences(string(src)), -1) {
			a = append(a, slug(m[1]))
		}
		anchors[page] = a
		return a
	}
	for _, f := range markdownFiles(t) {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range linkRe.FindAllStringSubmatch(codeRe.ReplaceAllString(stripFences(string(src)), ""), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			page := f
			if path != "" {
				page = filepath.Join(filepath.Dir(f), filepath.FromSlash(path))
				if _, pending := notYet[filepath.ToSlash(page)]; pending {
					continue
				}
				if _, err := os.Stat(page); err != nil {
					t.Errorf("%s: link %s: %v", f, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(page, ".md") && !slices.Contains(anchorsOf(page), anchor) {
				t.Errorf("%s: link %s: %s has no heading #%s", f, target, page, anchor)
			}
		}
	}
}

// TestNotYetWritten: a file of notYet that exists leaves the list, so that
// its links are checked.
func TestNotYetWritten(t *testing.T) {
	for f, what := range notYet {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s (%s) exists now: remove it from notYet in docs_test.go", f, what)
		}
	}
}

// stripFences removes fenced blocks, whose lines are neither headings nor
// links.
func stripFences(md string) string {
	var b strings.Builder
	in := ""
	for _, l := range strings.SplitAfter(md, "\n") {
		if m := fenceRe.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
			if in == "" {
				in = m[2]
			} else if strings.TrimSpace(l) == in {
				in = ""
			}
			continue
		}
		if in == "" {
			b.WriteString(l)
		}
	}
	return b.String()
}

// slug is GitHub's anchor for a heading: lower case, spaces to hyphens,
// punctuation other than hyphens and underscores dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}
