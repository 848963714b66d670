package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOperatorPageOnAdmin: the operator's page is the root of the admin
// listener, never the public one, and its chart counts the deliveries
// that /metrics counts, with or without /metrics.
func TestOperatorPageOnAdmin(t *testing.T) {
	for _, metrics := range []string{"on", "off"} {
		t.Run("metrics "+metrics, func(t *testing.T) {
			vars := map[string]string{"PAYHOOK_METRICS": metrics}
			for k, v := range kazawalletEnv {
				vars[k] = v
			}
			srv := startServeAll(t, vars)
			url := srv.base + "/webhooks/kazawallet"
			for _, order := range []string{"ord_o1", "ord_o2", "ord_o3", "ord_o1"} {
				code, _ := postJSON(t, url, kazawalletWebhook(order, "10.00"))
				require.Equal(t, http.StatusOK, code)
			}
			forged := strings.Replace(kazawalletWebhook("ord_o4", "10.00"), `"amount":"10.00"`, `"amount":"99.00"`, 1)
			code, _ := postJSON(t, url, forged)
			require.Equal(t, http.StatusUnauthorized, code)

			code, page := get(t, srv.admin+"/")
			require.Equal(t, http.StatusOK, code)
			assert.Contains(t, page, "processed: 3")
			assert.Contains(t, page, "duplicate: 1")
			assert.Contains(t, page, "rejected: 1")
			assert.Contains(t, page, "serve keeps no inbox", "without PAYHOOK_FORWARD_URL")
			code, _ = get(t, srv.admin+"/opspage.css")
			assert.Equal(t, http.StatusOK, code)
			code, _ = get(t, srv.base+"/")
			assert.Equal(t, http.StatusNotFound, code, "not on the public listener")
		})
	}
}
