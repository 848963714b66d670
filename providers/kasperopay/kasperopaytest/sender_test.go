package kasperopaytest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kasperopay/kasperopaytest"
)

var kpEvent = kasperopay.Event{
	Type: kasperopay.PaymentCompleted, Timestamp: time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC),
	MerchantID: "kpm_abc123", PaymentID: "pay_xyz789", OrderID: "ord_456", AmountKAS: payhook.MustAmount("150.5"),
	AmountUSD: payhook.MustAmount("15.05"), TransactionID: "abc123def456", CustomerAddress: "kaspa:qr",
	Items:    []kasperopay.Item{{Name: "T-Shirt", Quantity: 1, Price: payhook.MustAmount("15.05")}},
	Metadata: json.RawMessage(`{"cart":7}`),
}

func TestSender(t *testing.T) {
	clock := payhooktest.NewClock(kpEvent.Timestamp)
	tests := []struct {
		name   string
		sender kasperopaytest.Sender
		opts   []kasperopay.Option
	}{
		{"unsigned", kasperopaytest.Sender{}, nil},
		{"signed", kasperopaytest.Sender{Secret: "whsec_test"}, []kasperopay.Option{kasperopay.WithSecrets("whsec_test")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := kasperopaytest.NewAPI(t)
			api.Confirm(kpEvent)
			p, err := kasperopay.New(append(tt.opts, kasperopay.WithConfirmation(api.Client()), kasperopay.WithClock(clock.Now))...)
			require.NoError(t, err)
			r := tt.sender.Request("/webhooks/kasperopay", kpEvent)
			assert.Equal(t, tt.sender.Secret != "", r.Header.Get(kasperopay.SignatureHeader) != "")
			got, err := payhooktest.Verify(p, r)
			require.NoError(t, err)
			want := kpEvent
			want.Signed = tt.sender.Secret != ""
			confirmed := kasperopaytest.ConfirmedPayment(kpEvent)
			want.Confirmation = &confirmed
			assert.Equal(t, want, got)

			f := tt.sender.Forged("/webhooks/kasperopay", kpEvent)
			assert.NotEqual(t, r.Header.Get(kasperopay.SignatureHeader), f.Header.Get(kasperopay.SignatureHeader))
			_, err = payhooktest.Verify(p, f)
			if tt.sender.Secret != "" {
				assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
			} else {
				assert.NoError(t, err, "without a secret the signature header is ignored")
			}
		})
	}
}

func TestSenderWireFormat(t *testing.T) {
	clock := payhooktest.NewClock(time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC))
	sender := kasperopaytest.Sender{Now: clock.Now}
	e := kasperopay.Event{Type: kasperopay.PaymentCompleted, PaymentID: "pay_1", AmountKAS: payhook.MustAmount("150.5"), Item: "T-Shirt"}
	assert.JSONEq(t, `{"event":"payment.completed","timestamp":"2026-01-30T15:30:00.000Z","merchant_id":null,"payment_id":"pay_1",
		"order_id":null,"amount_kas":"150.5","amount_usd":null,"transaction_id":null,"customer_address":null,"item":"T-Shirt",
		"metadata":{}}`, string(sender.Body(e)), "the timestamp is the sender's clock")

	body := kasperopaytest.Sender{}.Body(e)
	var got struct{ Timestamp time.Time }
	require.NoError(t, json.Unmarshal(body, &got))
	assert.WithinDuration(t, time.Now(), got.Timestamp, time.Minute, "without Now, the timestamp is the time")

	r := kasperopaytest.Sender{Secret: "whsec_test", Now: clock.Now}.Request("/", e)
	assert.Equal(t, kasperopay.Sign("whsec_test", readAll(t, r)), r.Header.Get(kasperopay.SignatureHeader))
}

// validText reports whether every s is text that JSON carries unchanged.
func validText(s ...string) bool {
	for _, v := range s {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// FuzzRoundTrip: whatever the event, the provider verifies the
// builder's signed webhook and reads it back.
func FuzzRoundTrip(f *testing.F) {
	f.Add("payment.completed", "pay_xyz789", "ord_456", "150.5", "15.05", "abc123", "kpm_1", "kaspa:qr", "T-Shirt")
	f.Add("payment.completed", "..a", "", "1e-3", "", "", "", "", "")
	clock := &payhooktest.Clock{}
	p, err := kasperopay.New(kasperopay.WithSecrets("whsec"), kasperopay.WithoutConfirmation(), kasperopay.WithClock(clock.Now))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, event, paymentID, orderID, kas, usd, txid, merchant, address, item string) {
		if event != string(kasperopay.PaymentCompleted) || paymentID == "" || paymentID == "." || paymentID == ".." || len(paymentID) > 256 ||
			!validText(event, paymentID, orderID, txid, merchant, address, item) {
			t.Skip()
		}
		e := kasperopay.Event{Type: kasperopay.EventType(event), PaymentID: paymentID, OrderID: orderID, TransactionID: txid, MerchantID: merchant,
			CustomerAddress: address, Item: item, Timestamp: clock.Now(), Metadata: []byte("{}")}
		e.AmountKAS, _ = payhook.ParseAmount(kas)
		e.AmountUSD, _ = payhook.ParseAmount(usd)
		r := kasperopaytest.Sender{Secret: "whsec"}.Request("/", e)
		got, err := payhooktest.Verify(p, r)
		require.NoError(t, err)
		e.Signed = true
		assert.Equal(t, e, got)
	})
}

// readAll reads a request's body as a resend would, through GetBody.
func readAll(t *testing.T, r *http.Request) []byte {
	t.Helper()
	require.NotNil(t, r.GetBody, "the request can be sent again")
	b, err := providertest.ReadBody(r)
	require.NoError(t, err)
	return b
}
