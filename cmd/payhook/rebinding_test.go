package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminRefusesOtherHostsWithoutToken: on loopback the admin listener
// takes no token, so a web page whose name its owner pointed at 127.0.0.1
// (DNS rebinding) is, to the browser, of the same origin as the listener:
// it could read /metrics, the operator's page and the expectations, and
// post to them. Its requests carry its own name as Host, and are refused
// 403, as the sandbox refuses them; a token, which no such page holds,
// serves any Host.
func TestAdminRefusesOtherHostsWithoutToken(t *testing.T) {
	srv := startServeAll(t, map[string]string{"KASPEROPAY_ENABLED": "1"})
	require.NotEmpty(t, srv.admin)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.admin, "http://"), ":")
	get := func(base, path, host, token string) int {
		r, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		r.Host = host
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	for _, path := range []string{"/metrics", "/expectations", "/"} {
		assert.Equal(t, http.StatusForbidden, get(srv.admin, path, "evil.example:"+port, ""), path)
		assert.Equal(t, http.StatusOK, get(srv.admin, path, "127.0.0.1:"+port, ""), path)
		assert.Equal(t, http.StatusOK, get(srv.admin, path, "localhost:"+port, ""), path)
	}

	const token = "0123456789abcdef0123456789abcdef"
	withToken := startServeAll(t, map[string]string{"KASPEROPAY_ENABLED": "1", "PAYHOOK_ADMIN_TOKEN": token})
	assert.Equal(t, http.StatusOK, get(withToken.admin, "/metrics", "payhook.internal:9090", token), "a token serves any Host")
	assert.Equal(t, http.StatusUnauthorized, get(withToken.admin, "/metrics", "payhook.internal:9090", ""))
}
