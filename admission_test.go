package payhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// admissionNow is the clock of the tests below: the rate limit's, and
// KasperoPay's replay window's.
var admissionNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// signedProvider delivers one provider's webhooks to a payhook.Handle,
// genuine or forged, for the tests of what the core checks for every
// provider.
type signedProvider struct {
	name string
	// handler returns a Handle that counts the events it is given.
	handler func(t *testing.T, n *atomic.Int32, opts ...payhook.Option) http.Handler
	// request returns a delivery of an event keyed key, signed as the
	// provider signs, or forged.
	request func(t *testing.T, key string, forged bool) *http.Request
}

func counting[E any](n *atomic.Int32) func(context.Context, E) error {
	return func(context.Context, E) error { n.Add(1); return nil }
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func jsonRequest(t *testing.T, v any) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(string(jsonBody(t, v))))
	r.Header.Set("Content-Type", "application/json")
	return r
}

var signedProviders = []signedProvider{
	{
		name: kazawallet.Name,
		handler: func(t *testing.T, n *atomic.Int32, opts ...payhook.Option) http.Handler {
			return payhook.Handle(provider(t), counting[kazawallet.Event](n), opts...)
		},
		request: func(t *testing.T, key string, forged bool) *http.Request {
			sig := kazawallet.Sign(apiKey, apiSecret, "10", key)
			if forged {
				sig = kazawallet.Sign(apiKey, "not the secret", "10", key)
			}
			return jsonRequest(t, map[string]string{"order_id": key, "amount": "10", "status": "fulfilled", "secret": sig})
		},
	},
	{
		name: kkiapay.Name,
		handler: func(t *testing.T, n *atomic.Int32, opts ...payhook.Option) http.Handler {
			p, err := kkiapay.New("kk_hash_secret")
			require.NoError(t, err)
			return payhook.Handle(p, counting[kkiapay.Event](n), opts...)
		},
		request: func(t *testing.T, key string, forged bool) *http.Request {
			r := jsonRequest(t, map[string]any{"transactionId": key, "event": "transaction.success",
				"isPaymentSucces": true, "amount": 1000, "method": "MOBILE_MONEY"})
			r.Header.Set(kkiapay.SignatureHeader, kkiapay.Sign("kk_hash_secret"))
			if forged {
				r.Header.Set(kkiapay.SignatureHeader, kkiapay.Sign("not the secret"))
			}
			return r
		},
	},
	{
		name: kasperopay.Name + " with a webhook secret",
		handler: func(t *testing.T, n *atomic.Int32, opts ...payhook.Option) http.Handler {
			p, err := kasperopay.New(kasperopay.WithSecrets("kp_whsec"), kasperopay.WithoutConfirmation(),
				kasperopay.WithClock(func() time.Time { return admissionNow }))
			require.NoError(t, err)
			return payhook.Handle(p, counting[kasperopay.Event](n), opts...)
		},
		request: func(t *testing.T, key string, forged bool) *http.Request {
			body := jsonBody(t, map[string]any{"event": "payment.completed", "payment_id": key, "amount_kas": "150.5",
				"timestamp": admissionNow.Format(time.RFC3339)})
			secret := "kp_whsec"
			if forged {
				secret = "not the secret"
			}
			r := httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(string(body)))
			r.Header.Set(kasperopay.SignatureHeader, kasperopay.Sign(secret, body))
			return r
		},
	},
}

// from sets r's client address.
func from(r *http.Request, ip string) *http.Request {
	r.RemoteAddr = ip + ":40000"
	return r
}

// TestRateLimitChargesOnlyFailures (issue 17 §3): for a provider that
// verifies locally, junk from an address exhausts that address's limit,
// and a genuine signed delivery from the same address is still accepted.
// On the old code, the limit was charged before Verify: the genuine
// delivery was answered 429, and a one-shot webhook lost.
func TestRateLimitChargesOnlyFailures(t *testing.T) {
	for _, sp := range signedProviders {
		t.Run(sp.name, func(t *testing.T) {
			var n atomic.Int32
			h := sp.handler(t, &n, payhook.WithRateLimit(payhook.RateLimit{Rate: 1, Burst: 2}),
				payhook.WithClock(func() time.Time { return admissionNow }), payhook.WithMaxBodyBytes(4096))
			const ip = "203.0.113.7"

			assert.Equal(t, http.StatusUnauthorized, serve(h, from(sp.request(t, "k1", true), ip)).Code)
			assert.Equal(t, http.StatusUnauthorized, serve(h, from(sp.request(t, "k1", true), ip)).Code)
			w := serve(h, from(sp.request(t, "k1", true), ip))
			assert.Equal(t, http.StatusTooManyRequests, w.Code, "junk over the limit")
			assert.Equal(t, "1", w.Header().Get("Retry-After"))

			for i := range 5 {
				key := fmt.Sprint("genuine_", i)
				assert.Equal(t, http.StatusOK, serve(h, from(sp.request(t, key, false), ip)).Code, "a genuine delivery, over the limit")
			}
			assert.EqualValues(t, 5, n.Load())

			big := from(httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(strings.Repeat("x", 5000))), ip)
			assert.Equal(t, http.StatusTooManyRequests, serve(h, big).Code, "a body too large is charged too")
			const other = "198.51.100.1"
			big = from(httptest.NewRequest(http.MethodPost, "/webhooks", strings.NewReader(strings.Repeat("x", 5000))), other)
			assert.Equal(t, http.StatusRequestEntityTooLarge, serve(h, big).Code, "another client has its own bucket")
			assert.Equal(t, http.StatusBadRequest, serve(h, from(sp.request(t, "bad\nkey", false), other)).Code)
			assert.Equal(t, http.StatusTooManyRequests, serve(h, from(sp.request(t, "bad\nkey", false), other)).Code,
				"an unusable key is charged")
			assert.EqualValues(t, 5, n.Load())
		})
	}
}

// TestRateLimitBeforeAnAPI: KasperoPay without a webhook secret
// authenticates by calling its status API, so every delivery is charged
// before Verify, and a client over its limit causes no call.
func TestRateLimitBeforeAnAPI(t *testing.T) {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, `{"error":"Payment not found"}`, http.StatusNotFound)
	}))
	defer api.Close()
	cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL))
	require.NoError(t, err)
	p, err := kasperopay.New(kasperopay.WithConfirmation(cl))
	require.NoError(t, err)
	require.False(t, p.VerifiesLocally())
	var n atomic.Int32
	h := payhook.Handle(p, counting[kasperopay.Event](&n), payhook.WithRateLimit(payhook.RateLimit{Rate: 1, Burst: 1}),
		payhook.WithClock(func() time.Time { return admissionNow }))
	forged := func() *http.Request {
		return from(jsonRequest(t, map[string]any{"event": "payment.completed", "payment_id": "pay_1", "amount_kas": "1"}), "203.0.113.7")
	}
	assert.Equal(t, http.StatusUnauthorized, serve(h, forged()).Code)
	assert.Equal(t, http.StatusTooManyRequests, serve(h, forged()).Code)
	assert.EqualValues(t, 1, calls.Load(), "the request over the limit did not reach the API")
}

// TestKeysAreChecked (issue 17 §5): every provider's key is checked in
// the core: printable, at most payhook.MaxKeyBytes; otherwise 400, and the
// handler never sees it. On the old code, a KKiaPay transactionId with
// CR/LF, or of 100 KB, was acknowledged and then failed every forward.
func TestKeysAreChecked(t *testing.T) {
	for _, sp := range signedProviders {
		t.Run(sp.name, func(t *testing.T) {
			var n atomic.Int32
			h := sp.handler(t, &n)
			for _, key := range []string{
				"tx_1\r\nX-Injected: 1",
				"tx_1\n",
				"tx\x00",
				"tx\x7f",
				"tx\u0085",
				"tx\u2028",
				"tx\tab",
				strings.Repeat("k", payhook.MaxKeyBytes+1),
				strings.Repeat("k", 100<<10),
			} {
				w := serve(h, sp.request(t, key, false))
				assert.Equal(t, http.StatusBadRequest, w.Code, "key %.40q", key)
			}
			assert.Zero(t, n.Load())
			for _, key := range []string{"ord_123", "commande n°42 été", strings.Repeat("k", payhook.MaxKeyBytes)} {
				assert.Equal(t, http.StatusOK, serve(h, sp.request(t, key, false)).Code, "key %.40q", key)
			}
			assert.EqualValues(t, 3, n.Load())
		})
	}
}
