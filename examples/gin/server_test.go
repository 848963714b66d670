package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/examples/internal/apptest"
	"github.com/payhook/payhook/examples/internal/shop"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

func TestWebhooks(t *testing.T) { apptest.Run(t, NewServer) }

// TestBodyReadersBeforePayhook mounts the Kazawallet webhook behind gin
// middleware that reads the body, to show which order works.
func TestBodyReadersBeforePayhook(t *testing.T) {
	var order struct{ ID string }
	tests := []struct {
		name   string
		before gin.HandlerFunc // runs before payhook on the webhook route
		want   int
		status shop.Status
	}{
		{name: "nothing reads the body first", want: http.StatusOK, status: shop.Paid},
		{
			name:   "GetRawData drains it: payhook sees an empty body",
			before: func(c *gin.Context) { _, _ = c.GetRawData() },
			want:   http.StatusBadRequest, status: shop.Pending,
		},
		{
			name:   "ShouldBindJSON drains it too",
			before: func(c *gin.Context) { _ = c.ShouldBindJSON(&order) },
			want:   http.StatusBadRequest, status: shop.Pending,
		},
		{
			// ShouldBindBodyWithJSON keeps the bytes in gin's context for
			// other gin bindings, not in c.Request.Body, which payhook reads.
			name:   "ShouldBindBodyWithJSON caches the body for gin only",
			before: func(c *gin.Context) { _ = c.ShouldBindBodyWithJSON(&order) },
			want:   http.StatusBadRequest, status: shop.Pending,
		},
		{
			name: "GetRawData then put back: payhook works",
			before: func(c *gin.Context) {
				body, _ := c.GetRawData()
				c.Request.Body = io.NopCloser(bytes.NewReader(body))
			},
			want: http.StatusOK, status: shop.Paid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := apptest.NewEnv(t)
			kw, hooks, opts := env.KazawalletSetup(t)
			r := gin.New()
			chain := []gin.HandlerFunc{gin.WrapH(payhook.Handle(kw, hooks.Kazawallet, opts...))}
			if tt.before != nil {
				chain = append([]gin.HandlerFunc{tt.before}, chain...)
			}
			r.POST("/webhooks/kazawallet", chain...)

			w := apptest.Serve(r, apptest.Kazawallet.Request("/webhooks/kazawallet", apptest.KazawalletPaid))
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			assert.Equal(t, tt.status, env.Order(t, apptest.KazawalletPaid.Ref).Status)
		})
	}
}

// TestOrdersAPI checks that the orders API's body-reading middleware and
// binding, kept off the webhook routes, still work on their own routes.
func TestOrdersAPI(t *testing.T) {
	env := apptest.NewEnv(t)
	r := apptest.Server(t, env, NewServer)

	req, err := http.NewRequest(http.MethodPost, "/orders", bytes.NewBufferString(`{"id":"o-9","amount":"12.50","currency":"USD"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	w := apptest.Serve(r, req)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())

	o := env.Order(t, "o-9")
	assert.Equal(t, shop.Pending, o.Status)
	assert.True(t, o.Amount.Equal(payhook.MustAmount("12.5")))
}
