package kazawallettest_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/providertest"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

var kwEvent = kazawallet.Event{OrderID: "ord_123", Amount: payhook.MustAmount("10.00"), Ref: "order-42",
	Type: kazawallet.Fulfilled, Currency: "USD"}

func TestSender(t *testing.T) {
	p, err := kazawallet.New("test_api_key", "test_api_secret")
	require.NoError(t, err)
	sender := kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}

	tests := []struct {
		name       string
		sender     kazawallettest.Sender
		event      kazawallet.Event
		wantSigned string
	}{
		{"JSON", sender, kwEvent, "10.00"},
		{"form", kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret", Form: true}, kwEvent, "10.00"},
		{"signed as another form of the amount", sender, func() kazawallet.Event {
			e := kwEvent
			e.Amount, e.SignedAmount = payhook.MustAmount("10"), "10.00"
			return e
		}(), "10.00"},
		{"timed out", sender, func() kazawallet.Event { e := kwEvent; e.Type = kazawallet.TimedOut; return e }(), "10.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.sender.Request("/webhooks/kazawallet", tt.event)
			assert.Equal(t, http.MethodPost, r.Method)
			body := readAll(t, r)
			assert.Equal(t, body, readAll(t, r), "every copy of the body is the same")
			got, err := p.Verify(context.Background(), r.Header, body)
			require.NoError(t, err)
			want := tt.event
			want.SignedAmount = tt.wantSigned
			assert.Equal(t, want, got)

			_, err = payhooktest.Verify(p, tt.sender.Forged("/webhooks/kazawallet", tt.event))
			assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
		})
	}
}

func TestSenderWireFormat(t *testing.T) {
	sender := kazawallettest.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}
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
// builder's webhook, JSON or form, and reads the event back.
func FuzzRoundTrip(f *testing.F) {
	f.Add("ord_123", "10.00", "order-42", "fulfilled", "USD", false)
	f.Add("42", "1e3", "a&b=c", "timed_out", "", true)
	f.Add("ü", "-0.5", "\"quoted\"", "", "XOF", true)
	p, err := kazawallet.New("key", "secret")
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, orderID, amount, ref, status, currency string, form bool) {
		a, err := payhook.ParseAmount(amount)
		if err != nil || orderID == "" || !validText(orderID, ref, status, currency) {
			t.Skip()
		}
		sender := kazawallettest.Sender{APIKey: "key", APISecret: "secret", Form: form}
		e := kazawallet.Event{OrderID: orderID, Amount: a, Ref: ref, Type: kazawallet.EventType(status), Currency: currency}
		r := sender.Request("/", e)
		got, err := payhooktest.Verify(p, r)
		require.NoError(t, err)
		e.SignedAmount = amount
		assert.Equal(t, e, got)
		r = sender.Forged("/", e)
		_, err = payhooktest.Verify(p, r)
		assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
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
