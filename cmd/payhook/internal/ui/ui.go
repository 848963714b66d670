// Package ui holds what the sandbox's pages and the operator's page share:
// the page layout (html/template) and the base of their stylesheets (the
// palette, the header bar, the links), so that both look like one product.
//
// A page set parses its templates with [Pages], defining for the layout:
//
//	head     the page's <meta> refresh, <title> and stylesheet link
//	nav      the header bar's <nav>
//	top      what comes first in <main> (may be empty)
//	content  the page itself
//	footer   the footer's text
//
// and serves its stylesheet with [Stylesheet], which puts the base first.
// The base sizes the main column and the bar from the --width property,
// which the page's own stylesheet sets on :root.
package ui

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"time"
)

//go:embed layout.html base.css
var files embed.FS

// Pages parses one template set for each name: the shared layout, then
// the files of fsys that common names (its parts), then templates/<name>.html
// of fsys. It panics on a template error, as [template.Must] does: the
// templates are embedded, so an error is a bug found by any test.
func Pages(fsys fs.FS, funcs template.FuncMap, common []string, names ...string) map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(files, "layout.html"))
	base = template.Must(base.ParseFS(fsys, common...))
	m := make(map[string]*template.Template, len(names))
	for _, name := range names {
		m[name] = template.Must(template.Must(base.Clone()).ParseFS(fsys, "templates/"+name+".html"))
	}
	return m
}

// Stylesheet returns a handler that serves the base stylesheet followed by
// page, the page's own rules, as text/css that browsers revalidate.
func Stylesheet(page []byte) http.HandlerFunc {
	base, err := files.ReadFile("base.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	css := bytes.Join([][]byte{base, page}, nil)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "style.css", time.Time{}, bytes.NewReader(css))
	}
}

// Render writes the "layout" of page, executed with data, answering
// status as HTML that is never cached. On a template error it writes
// nothing and returns the error: the caller logs it and answers 500.
func Render(w http.ResponseWriter, page *template.Template, status int, data any) error {
	var b bytes.Buffer
	if err := page.ExecuteTemplate(&b, "layout", data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes()) // an error here is the client's going away: nothing to answer
	return nil
}
