package kasperopay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
)

// seedBody is the payload of KasperoPay's webhook documentation.
const seedBody = `{
  "event": "payment.completed",
  "timestamp": "2026-01-30T15:30:00.000Z",
  "merchant_id": "kpm_abc123",
  "payment_id": "pay_xyz789",
  "order_id": "ord_456",
  "amount_kas": "150.5",
  "amount_usd": "15.05",
  "transaction_id": "abc123def456",
  "customer_address": "kaspa:qr...",
  "items": [
    {
      "name": "T-Shirt",
      "quantity": 1,
      "price": "15.05"
    }
  ],
  "metadata": {}
}`

// seedTime is the seed's timestamp; the tests' clock reads it.
var seedTime = time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC)

const secret = "whsec_test"

// fakeAPI is kasperopaytest's fake of KasperoPay's status API, with the
// helpers these tests share.
type fakeAPI struct{ *kasperopaytest.API }

func newFakeAPI(t testing.TB) *fakeAPI { return &fakeAPI{kasperopaytest.NewAPI(t)} }

// answer sets a raw answer for id.
func (f *fakeAPI) answer(id string, status int, body string) {
	f.Set(id, payhooktest.Respond(status, body))
}

// payment sets a 200 answer for id, the documented shape.
func (f *fakeAPI) payment(id, status, amountKAS, txid string) {
	f.answer(id, http.StatusOK, fmt.Sprintf(`{"payment_id":%q,"status":%q,"amount_kas":%s,"amount_usd":15.05,"txid":%s,`+
		`"store_name":"Your Store","confirmed_at":"2026-01-30T15:29:58Z","expires_at":"2026-01-30T15:44:00Z"}`,
		id, status, amountKAS, txid))
}

func (f *fakeAPI) calls() int { return len(f.Calls()) }

// last returns the last call, which there must be.
func (f *fakeAPI) last() payhooktest.Call {
	calls := f.Calls()
	return calls[len(calls)-1]
}

// gated returns a Provider confirming through api behind a closed gate,
// for a status API that is slow on cue, with opts.
func gated(t *testing.T, api *fakeAPI, opts ...kasperopay.Option) (*kasperopay.Provider, *payhooktest.Gate) {
	gate := payhooktest.NewGate(nil)
	t.Cleanup(gate.Open) // before the API server closes
	cl := api.Client(kasperopay.WithHTTPClient(&http.Client{Transport: gate}))
	return newProvider(t, nil, append(opts, kasperopay.WithConfirmation(cl))...), gate
}

// serveSeed serves the seed body to h, signed when secret is not "".
func serveSeed(h http.Handler, secret string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(seedBody))
	if secret != "" {
		r.Header.Set(kasperopay.SignatureHeader, kasperopay.Sign(secret, []byte(seedBody)))
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// verify is the whole check, as payhook's middleware makes it: Verify,
// then Confirm.
func verify(p *kasperopay.Provider, header http.Header, body []byte) (kasperopay.Event, error) {
	e, err := p.Verify(context.Background(), header, body)
	if err != nil {
		return kasperopay.Event{}, err
	}
	if err := p.Confirm(context.Background(), &e); err != nil {
		return kasperopay.Event{}, err
	}
	return e, nil
}

// newProvider returns a Provider on the seed's clock, confirming through
// api when it is not nil.
func newProvider(t testing.TB, api *fakeAPI, opts ...kasperopay.Option) *kasperopay.Provider {
	t.Helper()
	base := []kasperopay.Option{kasperopay.WithClock(func() time.Time { return seedTime })}
	if api != nil {
		base = append(base, kasperopay.WithConfirmation(api.Client()))
	}
	p, err := kasperopay.New(append(base, opts...)...)
	require.NoError(t, err)
	return p
}

// body returns the seed payload with fields replaced (nil deletes one).
func body(t testing.TB, fields map[string]any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(seedBody), &m))
	for k, v := range fields {
		if v == nil {
			delete(m, k)
			continue
		}
		if v == jsonNull {
			v = nil
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

type null struct{}

var jsonNull = null{}

func TestNew(t *testing.T) {
	cl, err := kasperopay.NewClient()
	require.NoError(t, err)
	tests := []struct {
		name string
		opts []kasperopay.Option
		ok   bool
	}{
		{"defaults", nil, true},
		{"secret", []kasperopay.Option{kasperopay.WithSecrets(secret)}, true},
		{"secret without confirmation", []kasperopay.Option{kasperopay.WithSecrets(secret), kasperopay.WithoutConfirmation()}, true},
		{"confirmation off first", []kasperopay.Option{kasperopay.WithoutConfirmation(), kasperopay.WithSecrets(secret)}, true},
		{"empty secret", []kasperopay.Option{kasperopay.WithSecrets("")}, false},
		{"blank secret", []kasperopay.Option{kasperopay.WithSecrets(" \t")}, false},
		{"empty secret then a good one", []kasperopay.Option{kasperopay.WithSecrets(""), kasperopay.WithSecrets(secret)}, false},
		{"confirmation off without secret", []kasperopay.Option{kasperopay.WithoutConfirmation()}, false},
		{"rotated secrets", []kasperopay.Option{kasperopay.WithSecrets(secret, "whsec_new")}, true},
		{"secrets given twice add up", []kasperopay.Option{kasperopay.WithSecrets(secret), kasperopay.WithSecrets("whsec_new")}, true},
		{"no secret", []kasperopay.Option{kasperopay.WithSecrets()}, false},
		{"empty rotated secret", []kasperopay.Option{kasperopay.WithSecrets(secret, "")}, false},
		{"nil client", []kasperopay.Option{kasperopay.WithConfirmation(nil)}, false},
		{"confirmation on again, last wins", []kasperopay.Option{kasperopay.WithoutConfirmation(), kasperopay.WithConfirmation(cl)}, true},
		{"confirmation off last, without secret", []kasperopay.Option{kasperopay.WithConfirmation(cl), kasperopay.WithoutConfirmation()}, false},
		{"no replay window", []kasperopay.Option{kasperopay.WithSecrets(secret), kasperopay.WithReplayWindow(0)}, false},
		{"negative max age", []kasperopay.Option{kasperopay.WithMaxAge(-time.Hour)}, false},
		{"no confirmation at once", []kasperopay.Option{kasperopay.WithConcurrentConfirmations(0)}, false},
		{"no answer TTL", []kasperopay.Option{kasperopay.WithAnswerTTL(0)}, false},
		{"nil clock", []kasperopay.Option{kasperopay.WithClock(nil)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := kasperopay.New(tt.opts...)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, kasperopay.Name, p.Name())
				return
			}
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, p)
		})
	}
}

func TestVerifyPayloads(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	p := newProvider(t, api)

	tests := []struct {
		name  string
		body  []byte
		check func(t *testing.T, e kasperopay.Event)
	}{
		{"docs shape", []byte(seedBody), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, kasperopay.PaymentCompleted, e.Type)
			assert.True(t, e.Paid())
			assert.Equal(t, seedTime, e.Timestamp)
			assert.Equal(t, "kpm_abc123", e.MerchantID)
			assert.Equal(t, "pay_xyz789", e.PaymentID)
			assert.Equal(t, "ord_456", e.OrderID)
			assert.Equal(t, "150.5", e.AmountKAS.String())
			assert.Equal(t, "15.05", e.AmountUSD.String())
			assert.Equal(t, "abc123def456", e.TransactionID)
			assert.Equal(t, "kaspa:qr...", e.CustomerAddress)
			assert.Equal(t, []kasperopay.Item{{Name: "T-Shirt", Quantity: 1, Price: payhook.MustAmount("15.05")}}, e.Items)
			assert.JSONEq(t, `{}`, string(e.Metadata))
			assert.False(t, e.Signed)
			require.NotNil(t, e.Confirmation)
			assert.Equal(t, kasperopay.StatusCompleted, e.Confirmation.Status)
		}},
		{"server shape: item string, nulls, amount as number", body(t, map[string]any{
			"items": nil, "item": "Premium Subscription", "order_id": jsonNull, "transaction_id": jsonNull,
			"amount_usd": jsonNull, "customer_address": jsonNull, "amount_kas": json.Number("150.5"), "metadata": nil,
		}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, "Premium Subscription", e.Item)
			assert.Empty(t, e.Items)
			assert.Empty(t, e.OrderID)
			assert.Empty(t, e.TransactionID)
			assert.True(t, e.AmountUSD.IsZero())
			assert.Empty(t, e.CustomerAddress)
			assert.Equal(t, "150.5", e.AmountKAS.String())
			assert.Nil(t, e.Metadata)
			require.NotNil(t, e.Confirmation)
			assert.Equal(t, "abc123def456", e.Confirmation.TxID, "a null transaction_id is confirmed on status and amount; the API's txid is there")
		}},
		{"item and items together", body(t, map[string]any{"item": "Cart (2 items)"}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, "Cart (2 items)", e.Item)
			assert.Len(t, e.Items, 1)
		}},
		{"amount as string with trailing zero", body(t, map[string]any{"amount_kas": "150.50"}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, "150.50", e.AmountKAS.String(), "kept as sent")
		}},
		{"amount as number literal kept", []byte(strings.Replace(seedBody, `"amount_kas": "150.5"`, `"amount_kas": 150.500`, 1)), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, "150.500", e.AmountKAS.String())
		}},
		{"empty amount_usd", body(t, map[string]any{"amount_usd": ""}), func(t *testing.T, e kasperopay.Event) {
			assert.True(t, e.AmountUSD.IsZero())
		}},
		{"metadata object", body(t, map[string]any{"metadata": map[string]any{"user": 42, "plan": "pro"}}), func(t *testing.T, e kasperopay.Event) {
			var m struct {
				User int
				Plan string
			}
			require.NoError(t, e.DecodeMetadata(&m))
			assert.Equal(t, 42, m.User)
			assert.Equal(t, "pro", m.Plan)
		}},
		{"metadata absent", body(t, map[string]any{"metadata": nil}), func(t *testing.T, e kasperopay.Event) {
			assert.Nil(t, e.Metadata)
			m := map[string]any{"kept": true}
			require.NoError(t, e.DecodeMetadata(&m))
			assert.Equal(t, map[string]any{"kept": true}, m, "no metadata leaves v as it is")
		}},
		{"metadata null", body(t, map[string]any{"metadata": jsonNull}), func(t *testing.T, e kasperopay.Event) {
			assert.Nil(t, e.Metadata)
		}},
		{"metadata as a JSON string", body(t, map[string]any{"metadata": `{"user":7}`}), func(t *testing.T, e kasperopay.Event) {
			var m struct{ User int }
			require.NoError(t, e.DecodeMetadata(&m))
			assert.Equal(t, 7, m.User)
		}},
		{"lenient items", body(t, map[string]any{"items": []any{
			map[string]any{"name": "A", "quantity": "2", "price": 1.5},
			map[string]any{"name": 7, "quantity": 2.5, "price": "n/a"},
			"not an item",
			map[string]any{"name": "C", "quantity": map[string]any{}},
		}}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, []kasperopay.Item{
				{Name: "A", Quantity: 2, Price: payhook.MustAmount("1.5")},
				{Name: "7"},
				{Name: "C"},
			}, e.Items)
		}},
		{"items not an array", body(t, map[string]any{"items": "T-Shirt"}), func(t *testing.T, e kasperopay.Event) {
			assert.Empty(t, e.Items)
		}},
		{"item not a string", body(t, map[string]any{"item": map[string]any{"name": "x"}}), func(t *testing.T, e kasperopay.Event) {
			assert.Empty(t, e.Item)
		}},
		{"ids as numbers", body(t, map[string]any{"order_id": 456, "merchant_id": 12}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, "456", e.OrderID)
			assert.Equal(t, "12", e.MerchantID)
		}},
		// Fields that nothing verifies never cost the payment: KasperoPay
		// does not resend a webhook answered 400.
		{"amount_usd not a number", body(t, map[string]any{"amount_usd": "NaN"}), func(t *testing.T, e kasperopay.Event) {
			assert.True(t, e.AmountUSD.IsZero())
			require.NotNil(t, e.Confirmation)
		}},
		{"amount_usd an object", body(t, map[string]any{"amount_usd": map[string]any{"usd": 15.05}}), func(t *testing.T, e kasperopay.Event) {
			assert.True(t, e.AmountUSD.IsZero())
		}},
		{"optional strings of unexpected types", body(t, map[string]any{
			"order_id": map[string]any{"id": "ord_456"}, "merchant_id": false, "customer_address": []string{"kaspa:qr..."}, "transaction_id": map[string]any{},
		}), func(t *testing.T, e kasperopay.Event) {
			assert.Empty(t, e.OrderID)
			assert.Equal(t, "false", e.MerchantID)
			assert.Empty(t, e.CustomerAddress)
			assert.Empty(t, e.TransactionID)
			require.NotNil(t, e.Confirmation)
			assert.Equal(t, "abc123def456", e.Confirmation.TxID)
		}},
		{"timestamp without zone", body(t, map[string]any{"timestamp": "2026-01-30 15:30:00"}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, seedTime, e.Timestamp)
		}},
		{"timestamp in milliseconds", body(t, map[string]any{"timestamp": seedTime.UnixMilli()}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, seedTime, e.Timestamp)
		}},
		{"timestamp in seconds", body(t, map[string]any{"timestamp": seedTime.Unix()}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, seedTime, e.Timestamp)
		}},
		{"timestamp unreadable", body(t, map[string]any{"timestamp": "yesterday"}), func(t *testing.T, e kasperopay.Event) {
			assert.True(t, e.Timestamp.IsZero())
		}},
		{"timestamp absent", body(t, map[string]any{"timestamp": nil}), func(t *testing.T, e kasperopay.Event) {
			assert.True(t, e.Timestamp.IsZero())
		}},
		{"unknown fields ignored", body(t, map[string]any{"extra": []int{1}}), func(t *testing.T, e kasperopay.Event) {
			assert.Equal(t, "pay_xyz789", e.PaymentID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := verify(p, nil, tt.body)
			require.NoError(t, err)
			assert.Equal(t, "pay_xyz789", p.Key(e))
			tt.check(t, e)
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	p := newProvider(t, api)

	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, payhook.ErrMalformed},
		{"not JSON", `event=payment.completed&payment_id=pay_xyz789`, payhook.ErrMalformed},
		{"JSON array", `[` + seedBody + `]`, payhook.ErrMalformed},
		{"truncated", seedBody[:40], payhook.ErrMalformed},
		{"empty object", `{}`, payhook.ErrMalformed},
		{"no payment_id", string(body(t, map[string]any{"payment_id": nil})), payhook.ErrMalformed},
		{"null payment_id", string(body(t, map[string]any{"payment_id": jsonNull})), payhook.ErrMalformed},
		{"empty payment_id", string(body(t, map[string]any{"payment_id": ""})), payhook.ErrMalformed},
		{"payment_id object", string(body(t, map[string]any{"payment_id": map[string]any{}})), payhook.ErrMalformed},
		{"payment_id dot-dot", string(body(t, map[string]any{"payment_id": ".."})), payhook.ErrMalformed},
		{"payment_id too long", string(body(t, map[string]any{"payment_id": strings.Repeat("p", 257)})), payhook.ErrMalformed},
		{"no event", string(body(t, map[string]any{"event": nil})), payhook.ErrMalformed},
		// Issue 8, finding 1: only the event KasperoPay documents.
		{"forged event type: payment.expired", string(body(t, map[string]any{"event": "payment.expired"})), payhook.ErrMalformed},
		{"forged event type: payment.refunded", string(body(t, map[string]any{"event": "payment.refunded"})), payhook.ErrMalformed},
		{"forged event type: in capitals", string(body(t, map[string]any{"event": "PAYMENT.COMPLETED"})), payhook.ErrMalformed},
		{"amount not a number", string(body(t, map[string]any{"amount_kas": "150.5 KAS"})), payhook.ErrMalformed},
		{"amount object", string(body(t, map[string]any{"amount_kas": map[string]any{"v": 1}})), payhook.ErrMalformed},
		{"no amount_kas", string(body(t, map[string]any{"amount_kas": nil})), payhook.ErrInvalidSignature},
		{"null amount_kas", string(body(t, map[string]any{"amount_kas": jsonNull})), payhook.ErrInvalidSignature},
		{"amount differs", string(body(t, map[string]any{"amount_kas": "1500.5"})), payhook.ErrInvalidSignature},
		{"transaction id differs", string(body(t, map[string]any{"transaction_id": "forged"})), payhook.ErrInvalidSignature},
		{"unknown payment", string(body(t, map[string]any{"payment_id": "pay_forged"})), payhook.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := verify(p, nil, []byte(tt.body))
			assert.ErrorIs(t, err, tt.want)
			assert.Zero(t, e)
		})
	}
}

// TestVerifyConfirmation drives the status API through every answer
// KasperoPay's server gives, and the ones it gives when it is in trouble.
func TestVerifyConfirmation(t *testing.T) {
	api := newFakeAPI(t)
	slow := make(chan struct{})
	t.Cleanup(func() { close(slow) })

	tests := []struct {
		name    string
		answer  func(id string) // registers the API's answer for id
		webhook map[string]any  // changes to the seed body
		want    error           // nil: accepted
		logged  string          // the error-level line expected, "" for none
	}{
		{"completed and agreeing", func(id string) { api.payment(id, "completed", "150.5", `"abc123def456"`) }, nil, nil, ""},
		{"25.5 agrees with \"25.50\"", func(id string) { api.payment(id, "completed", "25.5", `"abc123def456"`) },
			map[string]any{"amount_kas": "25.50"}, nil, ""},
		{"amount as a string in the API", func(id string) { api.payment(id, "completed", `"150.50"`, `"abc123def456"`) }, nil, nil, ""},
		{"transaction id in another case", func(id string) { api.payment(id, "completed", "150.5", `"ABC123DEF456"`) }, nil, nil, ""},
		{"webhook transaction id null", func(id string) { api.payment(id, "completed", "150.5", `"abc123def456"`) },
			map[string]any{"transaction_id": jsonNull}, nil, ""},
		{"API txid null", func(id string) { api.payment(id, "completed", "150.5", `null`) }, nil, nil, ""},
		{"status in capitals", func(id string) { api.payment(id, "COMPLETED", "150.5", `"abc123def456"`) }, nil, nil, ""},
		{"pending", func(id string) { api.payment(id, "pending", "150.5", `null`) }, nil, payhook.ErrPending, "does not say completed"},
		{"confirming", func(id string) { api.payment(id, "confirming", "150.5", `"abc123def456"`) }, nil, payhook.ErrPending, "does not say completed"},
		{"expired", func(id string) { api.payment(id, "expired", "150.5", `null`) }, nil, payhook.ErrInvalidSignature, ""},
		{"amount mismatch", func(id string) { api.payment(id, "completed", "15.05", `"abc123def456"`) }, nil, payhook.ErrInvalidSignature, ""},
		{"API has no amount", func(id string) { api.payment(id, "completed", "null", `"abc123def456"`) }, nil, payhook.ErrInvalidSignature, ""},
		{"txid mismatch", func(id string) { api.payment(id, "completed", "150.5", `"other"`) }, nil, payhook.ErrInvalidSignature, ""},
		{"answer for another payment", func(id string) {
			api.answer(id, http.StatusOK, `{"payment_id":"pay_other","status":"completed","amount_kas":150.5,"txid":"abc123def456"}`)
		}, nil, payhook.ErrInvalidSignature, ""},
		{"404", func(id string) {}, nil, payhook.ErrInvalidSignature, ""},
		{"200 not found", func(id string) { api.answer(id, http.StatusOK, `{"error":"Payment not found"}`) }, nil, payhook.ErrInvalidSignature, ""},
		{"400 not found", func(id string) {
			api.answer(id, http.StatusBadRequest, `{"success":false,"message":"payment not found"}`)
		}, nil, payhook.ErrInvalidSignature, ""},
		{"404 HTML page: wrong path", func(id string) { api.answer(id, http.StatusNotFound, "<!DOCTYPE html><pre>Cannot GET /x</pre>") },
			nil, payhook.ErrUnavailable, "could not be consulted"},
		{"500", func(id string) { api.answer(id, http.StatusInternalServerError, `{"error":"Internal server error"}`) },
			nil, payhook.ErrUnavailable, "could not be consulted"},
		{"500 saying not found", func(id string) { api.answer(id, http.StatusInternalServerError, `{"error":"config not found"}`) },
			nil, payhook.ErrUnavailable, "could not be consulted"},
		{"429", func(id string) { api.answer(id, http.StatusTooManyRequests, `{"error":"slow down"}`) },
			nil, payhook.ErrUnavailable, "could not be consulted"},
		{"200 not JSON", func(id string) { api.answer(id, http.StatusOK, `<html>maintenance</html>`) },
			nil, payhook.ErrUnavailable, "could not be consulted"},
		{"200 without status", func(id string) { api.answer(id, http.StatusOK, `{"payment_id":"x"}`) },
			nil, payhook.ErrUnavailable, "could not be consulted"},
		{"slow answer: timeout", func(id string) { api.Set(id, payhooktest.Slow(time.Hour, payhooktest.Answer{})) },
			nil, payhook.ErrUnavailable, "could not be consulted"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("pay_%02d", i)
			tt.answer(id)
			timeout := 10 * time.Second // generous: only the slow row waits for it
			if strings.HasPrefix(tt.name, "slow") {
				timeout = 50 * time.Millisecond
			}
			p := newProvider(t, nil, kasperopay.WithConfirmation(api.Client(kasperopay.WithTimeout(timeout))))
			changes := map[string]any{"payment_id": id}
			for k, v := range tt.webhook {
				changes[k] = v
			}
			e, err := verify(p, nil, body(t, changes))
			if tt.want == nil {
				require.NoError(t, err)
				require.NotNil(t, e.Confirmation)
				assert.Equal(t, kasperopay.StatusCompleted, e.Confirmation.Status)
				assert.Equal(t, id, e.PaymentID)
				return
			}
			assert.ErrorIs(t, err, tt.want)
			assert.Zero(t, e)
			if tt.logged == "" {
				assert.NotContains(t, err.Error(), "PAYMENT NOT CONFIRMED")
				return
			}
			// The error, which the middleware logs at error level, is the
			// payment's only record: KasperoPay will not send it again.
			msg := err.Error()
			assert.Contains(t, msg, "PAYMENT NOT CONFIRMED")
			assert.Contains(t, msg, tt.logged)
			assert.Contains(t, msg, "KasperoPay will not resend this webhook")
			for _, field := range []string{`payment_id="` + id + `"`, `order_id="ord_456"`, "amount_kas=150.5", "amount_usd=15.05",
				`transaction_id="abc123def456"`, `merchant_id="kpm_abc123"`} {
				assert.Contains(t, msg, field)
			}
		})
	}
}

func TestVerifyAPIUnreachable(t *testing.T) {
	api := newFakeAPI(t)
	api.Close() // connection refused
	p := newProvider(t, api)
	_, err := verify(p, nil, []byte(seedBody))
	require.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.Contains(t, err.Error(), `payment_id="pay_xyz789"`, "the middleware's log line names the payment")
}

// TestVerifyHostilePaymentID checks that no payment id leaves the status
// path or adds a query.
func TestVerifyHostilePaymentID(t *testing.T) {
	api := newFakeAPI(t)
	p := newProvider(t, api)
	for _, id := range []string{"../admin?x=1", "../../etc/passwd", "a/b", "pay#frag", "%2e%2e", "pay 1?status=completed", "pay\x00", "..\\admin", "é"} {
		t.Run(id, func(t *testing.T) {
			_, err := verify(p, nil, body(t, map[string]any{"payment_id": id}))
			assert.ErrorIs(t, err, payhook.ErrInvalidSignature, "unknown to the API")
			r := api.last()
			require.NotNil(t, r)
			assert.Empty(t, r.URL.RawQuery)
			assert.Empty(t, r.URL.Fragment)
			escaped := r.URL.EscapedPath()
			require.True(t, strings.HasPrefix(escaped, "/pay/status/"), escaped)
			assert.NotContains(t, strings.TrimPrefix(escaped, "/pay/status/"), "/", "one path segment")
			assert.Equal(t, "/pay/status/"+id, r.URL.Path, "the server reads the id back exactly")
		})
	}
}

func TestVerifyStatusPath(t *testing.T) {
	api := newFakeAPI(t)
	cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL()+"/"), kasperopay.WithStatusPath("api/pay/status"))
	require.NoError(t, err)
	p := newProvider(t, nil, kasperopay.WithConfirmation(cl))
	_, err = verify(p, nil, []byte(seedBody))
	require.ErrorIs(t, err, payhook.ErrUnavailable, "the fake serves /pay/status/ only: an HTML 404")
	assert.Equal(t, "/api/pay/status/pay_xyz789", api.last().Path)
}

func TestVerifySignature(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	signed := func(b []byte) http.Header {
		return http.Header{kasperopay.SignatureHeader: {kasperopay.Sign(secret, b)}}
	}
	seed := []byte(seedBody)
	at := func(d time.Duration) []byte {
		return body(t, map[string]any{"timestamp": seedTime.Add(d).Format(time.RFC3339Nano)})
	}

	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"valid", signed(seed), seed, nil},
		{"upper-case hex", http.Header{kasperopay.SignatureHeader: {strings.ToUpper(kasperopay.Sign(secret, seed))}}, seed, nil},
		{"sha256= prefix", http.Header{kasperopay.SignatureHeader: {"sha256=" + kasperopay.Sign(secret, seed)}}, seed, nil},
		{"header name in lower case", http.Header{"X-Kasperopay-Signature": {kasperopay.Sign(secret, seed)}}, seed, nil},
		{"4 minutes old", signed(at(-4 * time.Minute)), at(-4 * time.Minute), nil},
		{"4 minutes ahead", signed(at(4 * time.Minute)), at(4 * time.Minute), nil},
		{"missing", nil, seed, payhook.ErrInvalidSignature},
		{"empty", http.Header{kasperopay.SignatureHeader: {""}}, seed, payhook.ErrInvalidSignature},
		{"wrong secret", http.Header{kasperopay.SignatureHeader: {kasperopay.Sign("other", seed)}}, seed, payhook.ErrInvalidSignature},
		{"another body's", signed(at(time.Second)), seed, payhook.ErrInvalidSignature},
		{"truncated", http.Header{kasperopay.SignatureHeader: {kasperopay.Sign(secret, seed)[:63]}}, seed, payhook.ErrInvalidSignature},
		{"not hex", http.Header{kasperopay.SignatureHeader: {strings.Repeat("zz", 32)}}, seed, payhook.ErrInvalidSignature},
		{"base64 instead of hex", http.Header{kasperopay.SignatureHeader: {"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA="}}, seed, payhook.ErrInvalidSignature},
		{"replay 6 minutes old", signed(at(-6 * time.Minute)), at(-6 * time.Minute), payhook.ErrInvalidSignature},
		{"6 minutes ahead", signed(at(6 * time.Minute)), at(6 * time.Minute), payhook.ErrInvalidSignature},
		{"no timestamp", signed(body(t, map[string]any{"timestamp": nil})), body(t, map[string]any{"timestamp": nil}), payhook.ErrInvalidSignature},
		{"signed but malformed", signed([]byte(`{"event":"payment.completed"}`)), []byte(`{"event":"payment.completed"}`), payhook.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, api, kasperopay.WithSecrets(secret))
			before := api.calls()
			e, err := verify(p, tt.header, tt.body)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
				assert.Equal(t, before, api.calls(), "rejected before the status API is called")
				assert.NotContains(t, err.Error(), kasperopay.Sign(secret, tt.body), "the expected signature is never told")
				return
			}
			require.NoError(t, err)
			assert.True(t, e.Signed)
			assert.NotNil(t, e.Confirmation, "confirmation stays on")
			assert.Equal(t, before+1, api.calls())
		})
	}
}

func TestVerifySignatureOnly(t *testing.T) {
	p := newProvider(t, nil, kasperopay.WithSecrets(secret), kasperopay.WithoutConfirmation(), kasperopay.WithReplayWindow(time.Hour))
	b := body(t, map[string]any{"timestamp": seedTime.Add(-30 * time.Minute).Format(time.RFC3339)})
	e, err := verify(p, http.Header{kasperopay.SignatureHeader: {kasperopay.Sign(secret, b)}}, b)
	require.NoError(t, err, "no status API call, and a 30-minute-old body within a one-hour window")
	assert.True(t, e.Signed)
	assert.Nil(t, e.Confirmation)
	_, err = verify(p, nil, b)
	assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
}

func TestSign(t *testing.T) {
	// printf '{"a":1}' | openssl dgst -sha256 -hmac whsec_test
	assert.Equal(t, "51426af50a41dd7ff2cd3f116594734766d4018d15d6fb07169aee5d2959adf5", kasperopay.Sign(secret, []byte(`{"a":1}`)))
}

func TestSecretNeverPrinted(t *testing.T) {
	const s = "whsec_very_secret_value"
	p, err := kasperopay.New(kasperopay.WithSecrets(s))
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("p", "provider", p)
	for _, out := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), p.String(), logs.String()} {
		assert.NotContains(t, out, s)
		assert.Contains(t, out, "REDACTED")
	}
}

func TestEventJSON(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	e, err := verify(newProvider(t, api), nil, []byte(seedBody))
	require.NoError(t, err)
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var back kasperopay.Event
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, e.PaymentID, back.PaymentID)
	assert.True(t, e.AmountKAS.Equal(back.AmountKAS))
	assert.Equal(t, e.Timestamp, back.Timestamp)
	assert.JSONEq(t, `{"payment_id":"pay_xyz789","status":"completed","amount_kas":"150.5","amount_usd":"15.05","txid":"abc123def456",`+
		`"store_name":"Your Store","confirmed_at":"2026-01-30T15:29:58Z","expires_at":"2026-01-30T15:44:00Z"}`, mustJSON(t, e.Confirmation))
}

// TestEventSurvivesJSON (issue 17): a signed and confirmed event comes
// back whole from json.Marshal and json.Unmarshal, as it does from an
// inbox.
func TestEventSurvivesJSON(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	body := []byte(strings.Replace(seedBody, `"metadata": {}`, `"metadata": {"cart": [1, 2], "note": "a < b"}`, 1))
	h := http.Header{}
	h.Set(kasperopay.SignatureHeader, kasperopay.Sign(secret, body))
	e, err := verify(newProvider(t, api, kasperopay.WithSecrets(secret)), h, body)
	require.NoError(t, err)
	require.True(t, e.Signed)
	require.NotNil(t, e.Confirmation)
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var back kasperopay.Event
	require.NoError(t, json.Unmarshal(b, &back))
	assert.JSONEq(t, string(e.Metadata), string(back.Metadata), "raw JSON comes back compact")
	e.Metadata, back.Metadata = nil, nil
	assert.Equal(t, e, back)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestHandleEndToEnd runs deliveries through payhook.Handle over HTTP.
func TestHandleEndToEnd(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	api.payment("pay_pending", "pending", "150.5", `null`)
	var handled atomic.Int32
	var got kasperopay.Event
	p := newProvider(t, api)
	srv := httptest.NewServer(payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error {
		handled.Add(1)
		fromCtx, ok := kasperopay.EventFrom(ctx)
		assert.True(t, ok)
		got = fromCtx
		return nil
	}))
	defer srv.Close()
	post := func(b []byte) (int, string) {
		res, err := http.Post(srv.URL, "application/json", bytes.NewReader(b))
		require.NoError(t, err)
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(out)
	}

	code, out := post([]byte(seedBody))
	assert.Equal(t, http.StatusOK, code, out)
	assert.Equal(t, "pay_xyz789", got.PaymentID)
	calls := api.calls()
	code, out = post([]byte(seedBody))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "already processed\n", out)
	assert.EqualValues(t, 1, handled.Load())
	assert.Equal(t, calls, api.calls(), "an unsigned duplicate is confirmed before its id is claimed, by the answer remembered")

	code, out = post(body(t, map[string]any{"payment_id": "pay_pending"}))
	assert.Equal(t, http.StatusServiceUnavailable, code, "not settled yet: never 401")
	assert.Equal(t, "Service Unavailable\n", out, "nothing of the reason reaches the client")
	code, out = post(body(t, map[string]any{"payment_id": "pay_forged"}))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "Unauthorized\n", out, "nothing of the reason reaches the client")
	code, _ = post(body(t, map[string]any{"payment_id": nil}))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.EqualValues(t, 1, handled.Load())
}

// TestHandleConcurrentDuplicates delivers one payment many times at once:
// it is processed exactly once, the first delivery holding it while the
// others are told to come back (409), and a later one is acknowledged.
func TestHandleConcurrentDuplicates(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	p := newProvider(t, api)
	const n = 16
	var handled atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error {
		handled.Add(1)
		<-release
		return nil
	}))
	defer srv.Close()

	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Post(srv.URL, "application/json", strings.NewReader(seedBody))
			if !assert.NoError(t, err) {
				codes <- 0
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	count := map[int]int{}
	for range n - 1 {
		count[<-codes]++
	}
	close(release)
	count[<-codes]++
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusOK: 1, http.StatusConflict: n - 1}, count)
	assert.EqualValues(t, 1, handled.Load())

	res, err := http.Post(srv.URL, "application/json", strings.NewReader(seedBody))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.EqualValues(t, 1, handled.Load(), "a later duplicate is acknowledged without processing")
}

// TestHandleUnavailable checks that a payment the status API cannot
// confirm is answered 503, reaches no handler, and can be processed when
// delivered again once the API is back.
func TestHandleUnavailable(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("pay_xyz789", http.StatusBadGateway, `bad gateway`)
	var logs bytes.Buffer
	var handled atomic.Int32
	p := newProvider(t, api)
	h := payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error { handled.Add(1); return nil },
		payhook.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/kasperopay", strings.NewReader(seedBody)))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.Zero(t, handled.Load())
	// The provider logs nothing itself: the middleware's logger has the
	// payment, at error level, from the error.
	var line map[string]any
	require.NoError(t, json.Unmarshal(logs.Bytes(), &line), logs.String())
	assert.Equal(t, "ERROR", line["level"])
	assert.Contains(t, line["error"], "PAYMENT NOT CONFIRMED")
	assert.Contains(t, line["error"], `payment_id="pay_xyz789"`)

	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/webhooks/kasperopay", strings.NewReader(seedBody)))
	assert.Equal(t, http.StatusOK, w.Code, "replayed by hand, it is processed")
	assert.EqualValues(t, 1, handled.Load())
}

// TestNewHidesBaseURLPassword: a base URL refused for its form (a
// proxy's, with a password) is not repeated with the password.
func TestNewHidesBaseURLPassword(t *testing.T) {
	for _, u := range []string{"htps://proxy:hunter2@proxy.example", "proxy:hunter2@proxy.example", "https://proxy:hunter2@proxy.example/?a=b"} {
		t.Run(u, func(t *testing.T) {
			_, err := kasperopay.NewClient(kasperopay.WithBaseURL(u))
			require.ErrorIs(t, err, payhook.ErrConfig)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

// TestForgeryCannotHoldAPaymentID: without a webhook secret nothing
// authenticates the sender, so a forged webhook naming a real payment id
// (here with a wrong amount) must not hold that id while it is being
// confirmed: the genuine delivery, sent only once, arriving meanwhile must
// be processed, not turned away with 409.
func TestForgeryCannotHoldAPaymentID(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	p, gate := gated(t, api)
	var handled atomic.Int32
	h := payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error { handled.Add(1); return nil })
	deliver := func(b []byte, code chan<- int) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b)))
		code <- w.Code
	}

	forged, genuine := make(chan int, 1), make(chan int, 1)
	go deliver(body(t, map[string]any{"amount_kas": "1500.5"}), forged)
	<-gate.Arrived() // the forgery is being confirmed
	// The genuine delivery shares the forgery's status call (one call per
	// payment id, issue 17), and compares the answer with its own body.
	go deliver([]byte(seedBody), genuine)
	gate.Open()
	assert.Equal(t, http.StatusUnauthorized, <-forged)
	assert.Equal(t, http.StatusOK, <-genuine)
	assert.EqualValues(t, 1, handled.Load())
}

// TestSignedDuplicateCostsNoStatusCall: with a webhook secret the signature
// authenticates the sender, so the payment id is claimed first and a
// duplicate of a processed payment is acknowledged without asking the API.
func TestSignedDuplicateCostsNoStatusCall(t *testing.T) {
	const secret = "whsec_dup"
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	var handled atomic.Int32
	h := payhook.Handle(newProvider(t, api, kasperopay.WithSecrets(secret)),
		func(ctx context.Context, e kasperopay.Event) error { handled.Add(1); return nil })
	deliver := func() *httptest.ResponseRecorder { return serveSeed(h, secret) }
	require.Equal(t, http.StatusOK, deliver().Code)
	calls := api.calls()
	w := deliver()
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "already processed\n", w.Body.String())
	assert.Equal(t, calls, api.calls(), "no status call for a signed duplicate")
	assert.EqualValues(t, 1, handled.Load())
}

// TestForgedEventTypeReleasesKey (issue 8, finding 1): without a webhook
// secret anyone can post a "payment.expired" for a real, completed payment.
// It is refused and marks nothing, so that the genuine payment.completed,
// sent once, is then processed.
func TestForgedEventTypeReleasesKey(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	var handled atomic.Int32
	h := payhook.Handle(newProvider(t, api),
		func(ctx context.Context, e kasperopay.Event) error { handled.Add(1); return nil })
	deliver := func(b []byte) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b)))
		return w
	}
	w := deliver(body(t, map[string]any{"event": "payment.expired"}))
	assert.Equal(t, http.StatusBadRequest, w.Code)
	assert.Zero(t, handled.Load())
	w = deliver([]byte(seedBody))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "ok\n", w.Body.String(), "processed, not \"already processed\"")
	assert.EqualValues(t, 1, handled.Load())
}

// TestSignedDisagreementReleasesKey (issue 8, finding 1): with a webhook
// secret, Confirm runs after the claim; a delivery the status API does not
// confirm (yet) releases the payment id, and the delivery that agrees is
// then processed.
func TestSignedDisagreementReleasesKey(t *testing.T) {
	const secret = "whsec_release"
	api := newFakeAPI(t)
	var handled atomic.Int32
	h := payhook.Handle(newProvider(t, api, kasperopay.WithSecrets(secret)),
		func(ctx context.Context, e kasperopay.Event) error { handled.Add(1); return nil })
	deliver := func() *httptest.ResponseRecorder { return serveSeed(h, secret) }
	assert.Equal(t, http.StatusUnauthorized, deliver().Code, "the API does not know the payment (yet)")
	api.payment("pay_xyz789", "confirming", "150.5", `"abc123def456"`)
	assert.Equal(t, http.StatusServiceUnavailable, deliver().Code, "not settled yet: never 401")
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	w := deliver()
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "ok\n", w.Body.String())
	assert.EqualValues(t, 1, handled.Load())
}

// TestVerifyPendingReturnsEvent (issue 8, finding 1, and the ErrPending
// contract): without a secret Verify confirms; a payment the API has not
// settled is payhook.ErrPending, never ErrInvalidSignature, and comes with
// the decoded event, as an unreachable API does with ErrUnavailable.
func TestVerifyPendingReturnsEvent(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "pending", "150.5", `null`)
	p := newProvider(t, api)
	e, err := p.Verify(context.Background(), nil, []byte(seedBody))
	require.ErrorIs(t, err, payhook.ErrPending)
	assert.NotErrorIs(t, err, payhook.ErrInvalidSignature)
	assert.Equal(t, "pay_xyz789", e.PaymentID)

	// Without a secret a pending answer is remembered a few seconds (issue
	// 17): another payment for the other answers.
	api.answer("pay_2", http.StatusBadGateway, "bad gateway")
	e, err = p.Verify(context.Background(), nil, body(t, map[string]any{"payment_id": "pay_2"}))
	require.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.Equal(t, "pay_2", e.PaymentID)

	api.payment("pay_3", "expired", "150.5", `null`)
	e, err = p.Verify(context.Background(), nil, body(t, map[string]any{"payment_id": "pay_3"}))
	require.ErrorIs(t, err, payhook.ErrInvalidSignature)
	assert.Zero(t, e, "a refused delivery comes with no event")
}

// TestReplayOlderThanMaxAge (issue 8, finding 2): no KasperoPay webhook
// signs a time, so once the idempotency store has forgotten a payment id a
// captured webhook would be processed again. Under confirmation, a payment
// the status API says was confirmed longer ago than the maximum age (one
// hour by default) is refused, and the error says why.
func TestReplayOlderThanMaxAge(t *testing.T) {
	api := newFakeAPI(t)
	answer := func(confirmedAt string) {
		api.answer("pay_xyz789", http.StatusOK, `{"payment_id":"pay_xyz789","status":"completed","amount_kas":150.5,`+
			`"txid":"abc123def456"`+confirmedAt+`}`)
	}
	for _, tt := range []struct {
		name        string
		confirmedAt string // the answer's confirmed_at field, "" for none
		opts        []kasperopay.Option
		want        error // nil: accepted
		why         string
	}{
		{"confirmed two hours ago", `,"confirmed_at":"2026-01-30T13:30:00Z"`, nil, payhook.ErrInvalidSignature, "longer than the maximum age of 1h0m0s"},
		{"confirmed 61 minutes ago", `,"confirmed_at":"2026-01-30T14:29:00Z"`, nil, payhook.ErrInvalidSignature, "maximum age"},
		{"confirmed 59 minutes ago", `,"confirmed_at":"2026-01-30T14:31:00Z"`, nil, nil, ""},
		{"two hours, with a max age of three", `,"confirmed_at":"2026-01-30T13:30:00Z"`, []kasperopay.Option{kasperopay.WithMaxAge(3 * time.Hour)}, nil, ""},
		{"no confirmed_at", ``, nil, payhook.ErrInvalidSignature, "no confirmed_at"},
		{"confirmed_at null", `,"confirmed_at":null`, nil, payhook.ErrInvalidSignature, "no confirmed_at"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			answer(tt.confirmedAt)
			p := newProvider(t, api, tt.opts...)
			_, err := verify(p, nil, []byte(seedBody))
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.why)
		})
	}

	t.Run("signed too", func(t *testing.T) {
		answer(`,"confirmed_at":"2026-01-30T13:30:00Z"`)
		p := newProvider(t, api, kasperopay.WithSecrets("whsec"))
		h := http.Header{kasperopay.SignatureHeader: {kasperopay.Sign("whsec", []byte(seedBody))}}
		_, err := verify(p, h, []byte(seedBody))
		require.ErrorIs(t, err, payhook.ErrInvalidSignature)
		assert.Contains(t, err.Error(), "maximum age")
	})
}

// TestDuplicateKeysRefused (issue 8, finding 3): a body with a duplicate
// key, or a key that matches a field only by case, is 400 before the status
// API is asked, so that no application reading the body can see another
// payment or amount than the one confirmed.
func TestDuplicateKeysRefused(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	p := newProvider(t, api)
	for _, tt := range []struct{ name, body string }{
		{"second payment_id", strings.Replace(seedBody, `"payment_id": "pay_xyz789",`, `"payment_id": "pay_xyz789", "payment_id": "pay_other",`, 1)},
		{"second order_id", strings.Replace(seedBody, `"order_id": "ord_456",`, `"order_id": "ord_456", "ORDER_ID": "ord_999",`, 1)},
		{"order_id only by case", strings.Replace(seedBody, `"order_id"`, `"Order_ID"`, 1)},
		{"duplicate in an item", strings.Replace(seedBody, `"quantity": 1,`, `"quantity": 1, "quantity": 100,`, 1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEqual(t, seedBody, tt.body)
			_, err := verify(p, nil, []byte(tt.body))
			assert.ErrorIs(t, err, payhook.ErrMalformed)
		})
	}
	assert.Equal(t, 0, api.calls(), "refused before the status API is asked")
}

// TestConfirmationSprayCostsOneCall (issue 8, finding 4): without a secret
// every delivery is confirmed through the status API, forgeries included.
// The answer for a settled payment is remembered, so 300 forgeries naming
// one payment cost one call, and the genuine delivery none.
func TestConfirmationSprayCostsOneCall(t *testing.T) {
	api := newFakeAPI(t)
	api.payment("pay_xyz789", "completed", "150.5", `"abc123def456"`)
	var handled atomic.Int32
	h := payhook.Handle(newProvider(t, api), func(ctx context.Context, e kasperopay.Event) error { handled.Add(1); return nil })
	forged := body(t, map[string]any{"amount_kas": "1500.5"})
	for range 300 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(forged)))
		require.Equal(t, http.StatusUnauthorized, w.Code)
	}
	assert.Equal(t, 1, api.calls())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(seedBody)))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 1, api.calls())
	assert.EqualValues(t, 1, handled.Load())
}

// TestConfirmationsInFlightCapped (issue 8, finding 4): at most
// WithConcurrentConfirmations calls of the status API run at once; a
// confirmation beyond waits, and gives up with 503 rather than open another
// connection.
func TestConfirmationsInFlightCapped(t *testing.T) {
	api := newFakeAPI(t)
	for _, id := range []string{"pay_1", "pay_2", "pay_3"} {
		api.answer(id, http.StatusOK, `{"payment_id":"`+id+`","status":"completed","amount_kas":150.5,"confirmed_at":"2026-01-30T15:29:58Z"}`)
	}
	p, gate := gated(t, api, kasperopay.WithConcurrentConfirmations(2))
	errs := make(chan error, 2)
	for _, id := range []string{"pay_1", "pay_2"} {
		go func() { _, err := verify(p, nil, body(t, map[string]any{"payment_id": id})); errs <- err }()
	}
	<-gate.Arrived()
	<-gate.Arrived()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the third delivery's client has gone while it waits for a slot
	_, err := p.Verify(ctx, nil, body(t, map[string]any{"payment_id": "pay_3"}))
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.Zero(t, api.calls(), "no third call while two are in flight (held before the API)")
	gate.Open()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	assert.Equal(t, 2, api.calls())
}

// TestMaxAgeMeasuredOnArrival (issue 8, finding 2, with the inbox): a
// payment kept by an inbox while the status API said "pending" is confirmed
// later by its worker; its age is measured when its webhook arrived
// (payhook.ReceivedAt), so a worker running two hours later does not take
// it for a replay.
func TestMaxAgeMeasuredOnArrival(t *testing.T) {
	api := newFakeAPI(t)
	arrival := time.Now().UTC().Truncate(time.Second)
	var mu sync.Mutex
	now := arrival
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p := newProvider(t, api, kasperopay.WithClock(clock))
	ib, err := inbox.New(inbox.NewMemory(), inbox.WithBackoff(0, 0))
	require.NoError(t, err)
	done := make(chan kasperopay.Event, 1)
	h := payhook.Handle(p, func(ctx context.Context, e kasperopay.Event) error { done <- e; return nil }, payhook.WithInbox(ib))

	api.payment("pay_xyz789", "pending", "150.5", `null`)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(seedBody)))
	require.Equal(t, http.StatusOK, w.Code, "kept by the inbox")

	mu.Lock()
	now = now.Add(2 * time.Hour) // the worker runs two hours later
	mu.Unlock()
	api.answer("pay_xyz789", http.StatusOK, fmt.Sprintf(`{"payment_id":"pay_xyz789","status":"completed","amount_kas":150.5,`+
		`"txid":"abc123def456","confirmed_at":%q}`, arrival.Format(time.RFC3339)))
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- ib.Run(ctx) }()
	defer func() { cancel(); assert.NoError(t, <-stopped) }()
	select {
	case e := <-done:
		assert.Equal(t, "pay_xyz789", e.PaymentID)
		require.NotNil(t, e.Confirmation)
	case <-time.After(10 * time.Second):
		t.Fatal("the kept payment was not processed: taken for a replay?")
	}
}
