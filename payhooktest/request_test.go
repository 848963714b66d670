package payhooktest_test

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/payhooktest"
)

func TestNewRequest(t *testing.T) {
	body := []byte(`{"id":"t1"}`)
	r := payhooktest.NewRequest("/webhooks/toy?x=1", body, "application/json")
	assert.Equal(t, "example.com", r.Host)
	assert.Equal(t, "192.0.2.1:1234", r.RemoteAddr)
	assert.Equal(t, "/webhooks/toy?x=1", r.URL.RequestURI())
	assert.Equal(t, int64(len(body)), r.ContentLength)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	for range 2 { // re-sendable
		got, err := payhooktest.ReadBody(r)
		require.NoError(t, err)
		assert.Equal(t, body, got)
	}
	got, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	assert.Equal(t, body, got)

	r = payhooktest.NewRequest("https://shop.example:8443/webhooks/toy", body, "application/json")
	assert.Equal(t, "shop.example:8443", r.URL.Host)
	assert.Empty(t, r.RemoteAddr)

	assert.Panics(t, func() { payhooktest.NewRequest("http://[::1", body, "application/json") })
}

func TestForgedKey(t *testing.T) {
	assert.NotEqual(t, "s", payhooktest.ForgedKey("s"))
	k := payhooktest.ForgedKey("s")
	assert.NotEqual(t, k, payhooktest.ForgedKey(k), "never the merchant's own key")
}
