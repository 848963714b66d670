package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStylesheetServesTheBaseThenThePage(t *testing.T) {
	rec := httptest.NewRecorder()
	Stylesheet([]byte(":root { --width: 40rem; }\n"))(rec, httptest.NewRequest(http.MethodGet, "/page.css", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/css; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-cache", rec.Header().Get("Cache-Control"))
	body, _ := io.ReadAll(rec.Body)
	base := strings.Index(string(body), "--ink:")
	page := strings.Index(string(body), "--width: 40rem")
	assert.True(t, base >= 0 && page > base, "the base first, then the page's rules:\n%s", body)
}

func TestPagesFillTheLayout(t *testing.T) {
	fsys := fstest.MapFS{
		"templates/parts.html": {Data: []byte(`{{define "head"}}<title>{{.}}</title>{{end}}{{define "nav"}}<nav>N</nav>{{end}}{{define "footer"}}F{{end}}`)},
		"templates/one.html":   {Data: []byte(`{{define "content"}}<p>one</p>{{end}}`)},
	}
	pages := Pages(fsys, nil, []string{"templates/parts.html"}, "one")
	var b strings.Builder
	require.NoError(t, pages["one"].ExecuteTemplate(&b, "layout", "T"))
	for _, want := range []string{"<title>T</title>", `<a class="skip" href="#main">`, "<nav>N</nav>", "<main id=\"main\">\n<p>one</p>\n</main>", "<footer><p>F</p></footer>"} {
		assert.Contains(t, b.String(), want)
	}
}

func TestRender(t *testing.T) {
	fsys := fstest.MapFS{
		"templates/parts.html": {Data: []byte(`{{define "head"}}{{end}}{{define "nav"}}{{end}}{{define "footer"}}{{end}}`)},
		"templates/ok.html":    {Data: []byte(`{{define "content"}}<p>{{.}}</p>{{end}}`)},
		"templates/bad.html":   {Data: []byte(`{{define "content"}}{{.Missing}}{{end}}`)},
	}
	pages := Pages(fsys, nil, []string{"templates/parts.html"}, "ok", "bad")
	rec := httptest.NewRecorder()
	require.NoError(t, Render(rec, pages["ok"], http.StatusTeapot, "<b>"))
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), "<p>&lt;b&gt;</p>", "escaped")

	rec = httptest.NewRecorder()
	assert.Error(t, Render(rec, pages["bad"], http.StatusOK, "a string has no field"))
	assert.Zero(t, rec.Body.Len(), "nothing written on an error")
	assert.False(t, rec.Flushed)
	assert.Empty(t, rec.Header().Get("Content-Type"))
}
