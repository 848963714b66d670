package main

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/payhook/payhook/examples/internal/apptest"
	"github.com/payhook/payhook/examples/internal/shop"
)

func TestWebhooks(t *testing.T) { apptest.Run(t, NewServer) }

// TestWhatSitsInFront wraps the server in middleware that caps or reads
// the body, to show what payhook answers behind each.
func TestWhatSitsInFront(t *testing.T) {
	tests := []struct {
		name    string
		maxBody int64                           // the app's body limit; 0: its default
		wrap    func(http.Handler) http.Handler // middleware in front of the whole server
		want    int
		status  shop.Status
	}{
		{name: "the app's default limit", want: http.StatusOK, status: shop.Paid},
		{name: "a limit below the webhook's size: payhook answers 413", maxBody: 64,
			want: http.StatusRequestEntityTooLarge, status: shop.Pending},
		{name: "a middleware that reads the body: payhook sees it empty, 400", wrap: drain,
			want: http.StatusBadRequest, status: shop.Pending},
		{name: "a middleware that reads the body and puts it back", wrap: readAndRestore,
			want: http.StatusOK, status: shop.Paid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := apptest.NewEnv(t)
			env.Config.MaxBodyBytes = tt.maxBody
			var h http.Handler = apptest.Server(t, env, NewServer)
			if tt.wrap != nil {
				h = tt.wrap(h)
			}
			w := apptest.Serve(h, apptest.Kazawallet.Request("/webhooks/kazawallet", apptest.KazawalletPaid))
			assert.Equal(t, tt.want, w.Code, w.Body.String())
			assert.Equal(t, tt.status, env.Order(t, apptest.KazawalletPaid.Ref).Status)
		})
	}
}

// drain is a naive request logger: it reads the body and leaves it empty.
func drain(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		next.ServeHTTP(w, r)
	})
}

// readAndRestore reads the body and puts a copy back.
func readAndRestore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}
