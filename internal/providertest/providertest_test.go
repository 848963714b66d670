package providertest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/internal/providertest"
)

func TestRequest(t *testing.T) {
	body := []byte(`{"id":"t1"}`)
	r := providertest.Request(http.NewRequest(http.MethodPost, "/webhooks/toy?x=1", bytes.NewReader(body)))
	assert.Equal(t, "example.com", r.Host)
	assert.Equal(t, "192.0.2.1:1234", r.RemoteAddr)
	assert.Equal(t, "/webhooks/toy?x=1", r.URL.RequestURI())
	for range 2 { // re-sendable
		got, err := providertest.ReadBody(r)
		require.NoError(t, err)
		assert.Equal(t, body, got)
	}
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, body, got)

	r = providertest.Request(http.NewRequest(http.MethodPost, "https://shop.example:8443/webhooks/toy", bytes.NewReader(body)))
	assert.Equal(t, "shop.example:8443", r.URL.Host)
	assert.Empty(t, r.RemoteAddr)

	assert.PanicsWithValue(t, `payhooktest: parse "http://[::1": missing ']' in host`, func() {
		providertest.Request(http.NewRequest(http.MethodPost, "http://[::1", nil))
	})
}

func TestForgedKey(t *testing.T) {
	assert.NotEqual(t, "s", providertest.ForgedKey("s"))
	k := providertest.ForgedKey("s")
	assert.NotEqual(t, k, providertest.ForgedKey(k), "never the merchant's own key")
}

func TestWriteBody(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1}`: "application/json", "<p>": "text/html; charset=utf-8", "x": "text/plain; charset=utf-8", "": "",
	} {
		w := httptest.NewRecorder()
		providertest.WriteBody(w, http.StatusTeapot, body)
		assert.Equal(t, http.StatusTeapot, w.Code)
		assert.Equal(t, want, w.Header().Get("Content-Type"), body)
		assert.Equal(t, body, w.Body.String())
	}
	r := httptest.NewRequest(http.MethodGet, "/x<y>", nil)
	status, page := providertest.NotFoundPage(r)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, page, "Cannot GET /x&lt;y&gt;")
}
