package payhook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

func TestHandle(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		want     int
		wantBody string
		retried  bool // whether a second delivery reaches fn again
	}{
		{name: "nil acknowledges", want: 200, wantBody: "ok\n"},
		{name: "error is 500 and released", err: errors.New("db: deadlock on orders"), want: 500, wantBody: "Internal Server Error\n", retried: true},
		{name: "ErrUnavailable is 503", err: fmt.Errorf("ledger: %w", payhook.ErrUnavailable), want: 503, wantBody: "Service Unavailable\n", retried: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []kazawallet.Event
			var logs bytes.Buffer
			h := payhook.Handle(provider(t), func(ctx context.Context, e kazawallet.Event) error {
				got = append(got, e)
				k, ok := payhook.KeyFrom(ctx)
				assert.True(t, ok)
				assert.Equal(t, e.OrderID, k)
				return tt.err
			}, payhook.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			body := webhook("ord_5", "12.50", "fulfilled")

			w := serve(h, post(body))
			assert.Equal(t, tt.want, w.Code)
			assert.Equal(t, tt.wantBody, w.Body.String(), "the error's text never reaches the client")
			serve(h, post(body))
			if tt.retried {
				assert.Len(t, got, 2)
				assert.Contains(t, logs.String(), "handler failed")
				assert.Contains(t, logs.String(), tt.err.Error(), "the error goes to the log")
			} else {
				assert.Len(t, got, 1)
			}
			assert.Equal(t, "ord_5", got[0].OrderID)
			assert.Equal(t, "12.50", got[0].Amount.String())
		})
	}
}

func TestHandlePanicIsNotAcknowledged(t *testing.T) {
	calls := 0
	h := payhook.Handle(provider(t), func(ctx context.Context, e kazawallet.Event) error {
		calls++
		if calls == 1 {
			panic("nil map")
		}
		return nil
	})
	body := webhook("ord_5", "12.50", "fulfilled")
	assert.Panics(t, func() { serve(h, post(body)) })
	assert.Equal(t, http.StatusOK, serve(h, post(body)).Code)
	assert.Equal(t, 2, calls)
}
