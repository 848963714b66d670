package payhooktest_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// validText reports whether every s is text that JSON carries unchanged.
func validText(s ...string) bool {
	for _, v := range s {
		if !utf8.ValidString(v) {
			return false
		}
	}
	return true
}

// FuzzKazawalletRoundTrip: whatever the event, the provider verifies the
// builder's webhook, JSON or form, and reads the event back.
func FuzzKazawalletRoundTrip(f *testing.F) {
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
		sender := payhooktest.Kazawallet{APIKey: "key", APISecret: "secret", Form: form}
		e := kazawallet.Event{OrderID: orderID, Amount: a, Ref: ref, Status: kazawallet.Status(status), Currency: currency}
		r := sender.Request("/", e)
		got, err := verify(p, r.Header, readAll(t, r))
		require.NoError(t, err)
		e.SignedAmount = amount
		assert.Equal(t, e, got)
		r = sender.Forged("/", e)
		_, err = verify(p, r.Header, readAll(t, r))
		assert.ErrorIs(t, err, payhook.ErrInvalidSignature)
	})
}

// FuzzKKiaPayRoundTrip: whatever the event, the provider reads the
// builder's webhook back as it was.
func FuzzKKiaPayRoundTrip(f *testing.F) {
	f.Add("3iH6wjHJ3", "transaction.success", "1000", "19", "22996000000", "label", "order-42", int64(1710924922883))
	f.Add("1", "transaction.failed", "0.5", "", "", "ü\x00", "", int64(0))
	p, err := kkiapay.New("s")
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, id, event, amount, fees, account, label, partner string, ms int64) {
		a, errA := payhook.ParseAmount(amount)
		fe, errF := payhook.ParseAmount(fees)
		if event != string(kkiapay.TransactionSuccess) && event != string(kkiapay.TransactionFailed) || errA != nil || strings.TrimSpace(id) == "" || ms < 0 || ms > 1e14 || !validText(id, event, account, label, partner) {
			t.Skip()
		}
		if errF != nil {
			fe = payhook.MustAmount("0")
		}
		e := kkiapay.Event{TransactionID: id, Type: kkiapay.EventType(event), Amount: a, Fees: fe, Account: account,
			Label: label, PartnerID: partner, StateData: []byte("{}")}
		if ms > 0 {
			e.PerformedAt = time.UnixMilli(ms).UTC()
		}
		r := payhooktest.KKiaPay{Secret: "s"}.Request("/", e)
		got, err := verify(p, r.Header, readAll(t, r))
		require.NoError(t, err)
		require.NotNil(t, got.PaymentSucceeded)
		assert.Equal(t, e.Type == kkiapay.TransactionSuccess, *got.PaymentSucceeded)
		got.PaymentSucceeded = nil
		assert.True(t, e.Amount.Equal(got.Amount), "%s != %s", e.Amount, got.Amount)
		assert.True(t, e.Fees.Equal(got.Fees), "%s != %s", e.Fees, got.Fees)
		got.Amount, got.Fees, e.Amount, e.Fees = payhook.Amount{}, payhook.Amount{}, payhook.Amount{}, payhook.Amount{}
		assert.Equal(t, e, got)
	})
}

// FuzzKasperoPayRoundTrip: whatever the event, the provider verifies the
// builder's signed webhook and reads it back.
func FuzzKasperoPayRoundTrip(f *testing.F) {
	f.Add("payment.completed", "pay_xyz789", "ord_456", "150.5", "15.05", "abc123", "kpm_1", "kaspa:qr", "T-Shirt")
	f.Add("payment.completed", "..a", "", "1e-3", "", "", "", "", "")
	clock := &payhooktest.Clock{}
	p, err := kasperopay.New(kasperopay.WithWebhookSecret("whsec"), kasperopay.WithoutConfirmation(), kasperopay.WithClock(clock.Now))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, event, paymentID, orderID, kas, usd, txid, merchant, address, item string) {
		if event != kasperopay.EventPaymentCompleted || paymentID == "" || paymentID == "." || paymentID == ".." || len(paymentID) > 256 ||
			!validText(event, paymentID, orderID, txid, merchant, address, item) {
			t.Skip()
		}
		e := kasperopay.Event{Type: event, PaymentID: paymentID, OrderID: orderID, TransactionID: txid, MerchantID: merchant,
			CustomerAddress: address, Item: item, Timestamp: clock.Now(), Metadata: []byte("{}")}
		e.AmountKAS, _ = payhook.ParseAmount(kas)
		e.AmountUSD, _ = payhook.ParseAmount(usd)
		r := payhooktest.KasperoPay{Secret: "whsec"}.Request("/", e)
		got, err := verify(p, r.Header, readAll(t, r))
		require.NoError(t, err)
		e.Signed = true
		assert.Equal(t, e, got)
	})
}
