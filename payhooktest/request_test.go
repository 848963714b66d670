package payhooktest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// readAll reads a request's body through GetBody, as a resend would.
func readAll(t *testing.T, r *http.Request) []byte {
	t.Helper()
	require.NotNil(t, r.GetBody, "the request can be sent again")
	rc, err := r.GetBody()
	require.NoError(t, err)
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// verify authenticates a delivery as the middleware does: Verify, then
// Confirm when the provider confirms events.
func verify[E any](p payhook.Provider[E], h http.Header, body []byte) (E, error) {
	e, err := p.Verify(context.Background(), h, body)
	if c, ok := p.(payhook.Confirmer[E]); ok && err == nil {
		err = c.Confirm(context.Background(), &e)
	}
	return e, err
}

// fields decodes a JSON body into raw fields.
func fields(t *testing.T, body []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m), "%s", body)
	return m
}

var kwEvent = kazawallet.Event{OrderID: "ord_123", Amount: payhook.MustAmount("10.00"), Ref: "order-42",
	Status: kazawallet.StatusFulfilled, Currency: "USD"}

func TestKazawalletBuilder(t *testing.T) {
	p, err := kazawallet.New("test_api_key", "test_api_secret")
	require.NoError(t, err)
	sender := payhooktest.Kazawallet{APIKey: "test_api_key", APISecret: "test_api_secret"}

	tests := []struct {
		name       string
		sender     payhooktest.Kazawallet
		event      kazawallet.Event
		wantSigned string
	}{
		{"JSON", sender, kwEvent, "10.00"},
		{"form", payhooktest.Kazawallet{APIKey: "test_api_key", APISecret: "test_api_secret", Form: true}, kwEvent, "10.00"},
		{"signed as another form of the amount", sender, func() kazawallet.Event {
			e := kwEvent
			e.Amount, e.SignedAmount = payhook.MustAmount("10"), "10.00"
			return e
		}(), "10.00"},
		{"timed out", sender, func() kazawallet.Event { e := kwEvent; e.Status = kazawallet.StatusTimedOut; return e }(), "10.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.sender.Request("/webhooks/kazawallet", tt.event)
			assert.Equal(t, http.MethodPost, r.Method)
			body := readAll(t, r)
			assert.Equal(t, body, readAll(t, r), "every copy of the body is the same")
			got, err := verify(p, r.Header, body)
			require.NoError(t, err)
			want := tt.event
			want.SignedAmount = tt.wantSigned
			assert.Equal(t, want, got)

			_, err = verify(p, r.Header, readAll(t, tt.sender.Forged("/webhooks/kazawallet", tt.event)))
			assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
		})
	}
}

func TestKazawalletWireFormat(t *testing.T) {
	sender := payhooktest.Kazawallet{APIKey: "test_api_key", APISecret: "test_api_secret"}
	e := kwEvent
	e.Amount = payhook.MustAmount("10")
	r := sender.Request("/webhooks/kazawallet", e)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	// The seed's PHP gives this secret for amount "10" and order ord_123 (PROVIDERS.md).
	assert.JSONEq(t, `{"order_id":"ord_123","amount":"10","ref":"order-42","status":"fulfilled","currency":"USD",
		"secret":"+Xjzsd0+6N06AHXYBkMniJotjxzCAMq4GnUsYWFLwfUiDfQn3Ts/kuBOs/+xRxUwn/aL8p3+xF/XOABLWaW3WA=="}`, string(sender.Body(e)))

	sender.Form = true
	r = sender.Request("/webhooks/kazawallet", e)
	assert.Equal(t, "application/x-www-form-urlencoded", r.Header.Get("Content-Type"))
	form, err := url.ParseQuery(string(readAll(t, r)))
	require.NoError(t, err)
	assert.Equal(t, "+Xjzsd0+6N06AHXYBkMniJotjxzCAMq4GnUsYWFLwfUiDfQn3Ts/kuBOs/+xRxUwn/aL8p3+xF/XOABLWaW3WA==", form.Get("secret"))
	assert.Equal(t, "10", form.Get("amount"))
}

func TestKKiaPayBuilder(t *testing.T) {
	p, err := kkiapay.New("hash_secret")
	require.NoError(t, err)
	sender := payhooktest.KKiaPay{Secret: "hash_secret"}
	no := false
	tests := []struct {
		name  string
		event kkiapay.Event
	}{
		{"success", kkiapay.Event{
			TransactionID: "3iH6wjHJ3", Type: kkiapay.TransactionSuccess, Account: "22996000000", Label: "Order 42",
			Method: kkiapay.MobileMoney, Amount: payhook.MustAmount("1000"), Fees: payhook.MustAmount("19"),
			PartnerID: "order-42", PerformedAt: time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC),
			StateData: json.RawMessage(`{"order":42}`),
		}},
		{"failure", kkiapay.Event{
			TransactionID: "erjEU5P9o", Type: kkiapay.TransactionFailed, FailureCode: "processing_error",
			FailureMessage: "processing_error",
		}},
		{"success event that says the payment failed", kkiapay.Event{
			TransactionID: "t3", Type: kkiapay.TransactionSuccess, PaymentSucceeded: &no, Amount: payhook.MustAmount("5"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sender.Request("/webhooks/kkiapay", tt.event)
			assert.Equal(t, "hash_secret", r.Header.Get(kkiapay.SecretHeader))
			got, err := verify(p, r.Header, readAll(t, r))
			require.NoError(t, err)
			want := tt.event
			if want.PaymentSucceeded == nil {
				ok := want.Type == kkiapay.TransactionSuccess
				want.PaymentSucceeded = &ok
			}
			if want.Fees.IsZero() {
				want.Fees = payhook.MustAmount("0")
			}
			if want.StateData == nil {
				want.StateData = json.RawMessage("{}")
			}
			assert.Equal(t, want, got)

			f := sender.Forged("/webhooks/kkiapay", tt.event)
			assert.NotEqual(t, "hash_secret", f.Header.Get(kkiapay.SecretHeader))
			_, err = verify(p, f.Header, readAll(t, f))
			assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
		})
	}
}

func TestKKiaPayWireFormat(t *testing.T) {
	body := payhooktest.KKiaPay{Secret: "s"}.Body(kkiapay.Event{
		TransactionID: "3iH6wjHJ3", Type: kkiapay.TransactionSuccess, Method: kkiapay.MobileMoney,
		Amount: payhook.MustAmount("1000"), Fees: payhook.MustAmount("19"),
		PerformedAt: time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC),
	})
	assert.JSONEq(t, `{"transactionId":"3iH6wjHJ3","isPaymentSucces":true,"account":null,"label":"","method":"MOBILE_MONEY",
		"amount":1000,"fees":19,"partnerId":"","performedAt":"2024-03-20T08:55:22.883Z","stateData":{},"event":"transaction.success"}`, string(body))

	m := fields(t, payhooktest.KKiaPay{}.Body(kkiapay.Event{TransactionID: "t", Amount: payhook.MustAmount("007.50")}))
	assert.Equal(t, "7.5", string(m["amount"]), "an amount that is not a JSON number is sent in its canonical form")
}

var kpEvent = kasperopay.Event{
	Type: kasperopay.EventPaymentCompleted, Timestamp: time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC),
	MerchantID: "kpm_abc123", PaymentID: "pay_xyz789", OrderID: "ord_456", AmountKAS: payhook.MustAmount("150.5"),
	AmountUSD: payhook.MustAmount("15.05"), TransactionID: "abc123def456", CustomerAddress: "kaspa:qr",
	Items:    []kasperopay.Item{{Name: "T-Shirt", Quantity: 1, Price: payhook.MustAmount("15.05")}},
	Metadata: json.RawMessage(`{"cart":7}`),
}

func TestKasperoPayBuilder(t *testing.T) {
	clock := payhooktest.NewClock(kpEvent.Timestamp)
	tests := []struct {
		name   string
		sender payhooktest.KasperoPay
		opts   []kasperopay.Option
	}{
		{"unsigned", payhooktest.KasperoPay{}, nil},
		{"signed", payhooktest.KasperoPay{Secret: "whsec_test"}, []kasperopay.Option{kasperopay.WithWebhookSecret("whsec_test")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := payhooktest.NewKasperoPayAPI(t)
			api.Confirm(kpEvent)
			p, err := kasperopay.New(append(tt.opts, kasperopay.WithBaseURL(api.URL()), kasperopay.WithClock(clock.Now))...)
			require.NoError(t, err)
			r := tt.sender.Request("/webhooks/kasperopay", kpEvent)
			assert.Equal(t, tt.sender.Secret != "", r.Header.Get(kasperopay.SignatureHeader) != "")
			got, err := verify(p, r.Header, readAll(t, r))
			require.NoError(t, err)
			want := kpEvent
			want.Signed = tt.sender.Secret != ""
			confirmed := payhooktest.ConfirmedPayment(kpEvent)
			want.Confirmed = &confirmed
			assert.Equal(t, want, got)

			f := tt.sender.Forged("/webhooks/kasperopay", kpEvent)
			assert.NotEqual(t, r.Header.Get(kasperopay.SignatureHeader), f.Header.Get(kasperopay.SignatureHeader))
			_, err = verify(p, f.Header, readAll(t, f))
			if tt.sender.Secret != "" {
				assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
			} else {
				assert.NoError(t, err, "without a secret the signature header is ignored")
			}
		})
	}
}

func TestKasperoPayWireFormat(t *testing.T) {
	clock := payhooktest.NewClock(time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC))
	sender := payhooktest.KasperoPay{Now: clock.Now}
	e := kasperopay.Event{Type: kasperopay.EventPaymentCompleted, PaymentID: "pay_1", AmountKAS: payhook.MustAmount("150.5"), Item: "T-Shirt"}
	assert.JSONEq(t, `{"event":"payment.completed","timestamp":"2026-01-30T15:30:00.000Z","merchant_id":null,"payment_id":"pay_1",
		"order_id":null,"amount_kas":"150.5","amount_usd":null,"transaction_id":null,"customer_address":null,"item":"T-Shirt",
		"metadata":{}}`, string(sender.Body(e)), "the timestamp is the sender's clock")

	body := payhooktest.KasperoPay{}.Body(e)
	var got struct{ Timestamp time.Time }
	require.NoError(t, json.Unmarshal(body, &got))
	assert.WithinDuration(t, time.Now(), got.Timestamp, time.Minute, "without Now, the timestamp is the time")

	r := payhooktest.KasperoPay{Secret: "whsec_test", Now: clock.Now}.Request("/", e)
	assert.Equal(t, kasperopay.Sign("whsec_test", readAll(t, r)), r.Header.Get(kasperopay.SignatureHeader))
}

func TestRequestTargets(t *testing.T) {
	sender := payhooktest.KKiaPay{Secret: "s"}
	e := kkiapay.Event{TransactionID: "t1"}
	r := sender.Request("/webhooks/kkiapay?x=1", e)
	assert.Equal(t, "example.com", r.Host)
	assert.Equal(t, "192.0.2.1:1234", r.RemoteAddr)
	assert.Equal(t, "/webhooks/kkiapay?x=1", r.URL.RequestURI())
	assert.Equal(t, int64(len(sender.Body(e))), r.ContentLength)

	r = sender.Request("https://shop.example:8443/webhooks/kkiapay", e)
	assert.Equal(t, "shop.example:8443", r.URL.Host)
	assert.Empty(t, r.RemoteAddr)

	assert.Panics(t, func() { sender.Request("http://[::1", e) })
}

func decodeJSON(res *http.Response, v any) error { return json.NewDecoder(res.Body).Decode(v) }
