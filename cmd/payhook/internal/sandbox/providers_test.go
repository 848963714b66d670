package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

func TestKazawalletLinkPaidThroughTheClient(t *testing.T) {
	f := newFixture(t)
	cl, err := kazawallet.NewClient(kwKey, kazawallet.WithBaseURL(f.srv.URL+"/wallet"))
	require.NoError(t, err)
	link, err := cl.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{
		Amount: payhook.MustAmount("10.00"), Currency: "USD", Email: "merchant@example.com", Ref: "order-42",
		RedirectURL: "https://shop.example/return?kazawallet=success",
	})
	require.NoError(t, err)
	assert.Empty(t, link.OrderID, "the answer holds the link only, as far as Kazawallet's is known")
	require.True(t, strings.HasPrefix(link.URL, f.srv.URL+"/checkout/kazawallet/"), link.URL)
	checkout := strings.TrimPrefix(link.URL, f.srv.URL)

	status, page := f.get(checkout)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, "Pay 10.00 USD")
	assert.Contains(t, page, `<button type="submit" name="action" value="timeout" class="secondary">Let it time out</button>`)
	assert.NotContains(t, page, "Return to the merchant", "not before paying")

	f.press(checkout, "pay")
	events := processed[kazawallet.Event](f)
	require.Len(t, events, 1, "the merchant's verifier accepted the signature")
	e := events[0]
	assert.Equal(t, kazawallet.Fulfilled, e.Type)
	assert.Equal(t, "10.00", e.Amount.String(), "the amount as the merchant sent it")
	assert.Equal(t, "10.00", e.SignedAmount, "signed over the raw text, as the PHP signs it")
	assert.Equal(t, "order-42", e.Ref)
	assert.Equal(t, "USD", e.Currency)
	assert.Equal(t, strings.TrimPrefix(checkout, "/checkout/kazawallet/"), e.OrderID)

	d := f.delivered(checkout)
	require.Len(t, d, 1)
	assert.Equal(t, []int{http.StatusOK}, statuses(d[0]))
	assert.Equal(t, 0, d[0].policy.Retries, "Kazawallet sends once")

	_, page = f.get(checkout)
	assert.Contains(t, page, "10.00 USD: fulfilled")
	assert.Contains(t, page, `href="https://shop.example/return?kazawallet=success"`)
	assert.Contains(t, page, "Acknowledged on attempt 1")
	assert.NotContains(t, page, `value="pay"`, "a settled link has no buttons")

	status, _, _ = f.post(checkout, url.Values{"action": {"pay"}})
	assert.Equal(t, http.StatusConflict, status, "a link is paid once")
}

func TestKazawalletLinkTimesOut(t *testing.T) {
	f := newFixture(t)
	checkout := f.begin("kazawallet", url.Values{"amount": {"7"}, "currency": {"EUR"}, "ref": {"r-7"}})
	f.press(checkout, "timeout")
	events := processed[kazawallet.Event](f)
	require.Len(t, events, 1)
	assert.Equal(t, kazawallet.TimedOut, events[0].Type)
	assert.False(t, events[0].Paid())
	assert.Equal(t, "7", events[0].Amount.String())
}

func TestKazawalletAPIRefusals(t *testing.T) {
	f := newFixture(t)
	call := func(key, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/wallet/createPaymentLink", strings.NewReader(body))
		req.Header.Set("x-api-key", key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	status, body := call("wrong", `{"amount":"1","currency":"USD"}`)
	assert.Equal(t, http.StatusNotFound, status)
	assert.JSONEq(t, `{"error":{"message":"User not found","details":{"key":"USER_NOT_FOUND"}}}`, body)

	status, body = call(kwKey, `{"amount":"0","currency":"USD"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `"success":false`)
	status, _ = call(kwKey, `{"amount":"5"}`)
	assert.Equal(t, http.StatusBadRequest, status)
	status, _ = call(kwKey, `not json`)
	assert.Equal(t, http.StatusBadRequest, status)
	status, _ = call(kwKey, `{"amount":"5","currency":"USD","ref":"`+strings.Repeat("x", maxBody)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)

	status, body = call(kwKey, `{"amount":12.5,"currency":"USD","ref":42}`)
	assert.Equal(t, http.StatusOK, status, "integrations send numbers too")
	assert.Contains(t, body, `"url":"`+f.srv.URL+`/checkout/kazawallet/`)

	res, err := http.Get(f.srv.URL + "/wallet/createPaymentLink")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "as Express answers a method it does not serve")

	cl, err := kazawallet.NewClient("wrong", kazawallet.WithBaseURL(f.srv.URL+"/wallet"))
	require.NoError(t, err)
	_, err = cl.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{Amount: payhook.MustAmount("1"), Currency: "USD"})
	var apiErr *kazawallet.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "USER_NOT_FOUND", apiErr.Key)
}

// TestKKiaPayRetriesAsKKiaPay: a merchant that answers 500 three times
// then 200 gets four attempts, 500 ms, 1 s and 1.5 s apart, each with the
// hash secret.
func TestKKiaPayRetriesAsKKiaPay(t *testing.T) {
	f := newFixture(t, func(c *Config, merchant string) { c.KKiaPay.Webhook = merchant + "/flaky" })
	var mu sync.Mutex
	var secrets []string
	f.merchant.HandleFunc("POST /flaky", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		secrets = append(secrets, r.Header.Get("X-Kkiapay-Secret"))
		if len(secrets) <= 3 {
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
	checkout := f.begin("kkiapay", url.Values{"amount": {"1000"}, "method": {"MOBILE_MONEY"}, "account": {"22997000000"}})
	f.press(checkout, "fail", "failure_code", "payment_declined")

	d := f.delivered(checkout)
	require.Len(t, d, 1)
	assert.Equal(t, []int{500, 500, 500, 200}, statuses(d[0]))
	assert.Equal(t, []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond}, waitsOf(d[0]))
	assert.Equal(t, []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond}, f.recordedWaits())
	mu.Lock()
	assert.Equal(t, []string{kkHash, kkHash, kkHash, kkHash}, secrets)
	mu.Unlock()
	assert.Equal(t, "try again", d[0].attempts[0].body)

	_, page := f.get("/payments")
	assert.Contains(t, page, "Acknowledged on attempt 4")
	assert.Equal(t, 3, strings.Count(page, "500 Internal Server Error"))
	assert.Contains(t, page, "1.5s")
}

func TestKKiaPayGivesUpAfterFiveRetries(t *testing.T) {
	f := newFixture(t, func(c *Config, merchant string) { c.KKiaPay.Webhook = merchant + "/moved" })
	f.merchant.HandleFunc("POST /moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/webhooks/kkiapay", http.StatusFound) // 3xx is not an acknowledgement
	})
	checkout := f.begin("kkiapay", url.Values{"amount": {"500"}, "method": {"WALLET"}})
	f.press(checkout, "succeed")
	d := f.delivered(checkout)
	require.Len(t, d, 1)
	assert.Equal(t, []int{302, 302, 302, 302, 302, 302}, statuses(d[0]), "one attempt and five retries, redirects not followed")
	assert.Empty(t, processed[kkiapay.Event](f))
	_, page := f.get(checkout)
	assert.Contains(t, page, "Not acknowledged after 6 attempts: KKiaPay gave up")
}

// TestKKiaPayStatusAPIAgreesWithWebhooks: the merchant's confirmation with
// the status API accepts what the sandbox delivered, and the API answers
// through kkiapay.Client as KKiaPay does.
func TestKKiaPayStatusAPIAgreesWithWebhooks(t *testing.T) {
	f := newFixture(t)
	cl, err := kkiapay.NewClient(kkPub, kkPriv, kkSec, kkiapay.WithBaseURL(f.srv.URL))
	require.NoError(t, err)
	ctx := context.Background()

	ok := f.begin("kkiapay", url.Values{"amount": {"2500"}, "method": {"MOBILE_MONEY"}, "account": {"22996000000"},
		"reason": {"Order 12"}, "partnerId": {"cust-12"}})
	id := strings.TrimPrefix(ok, "/checkout/kkiapay/")
	tx, err := cl.Status(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusPending, tx.Status)

	f.clock.Advance(time.Minute)
	f.press(ok, "succeed")
	events := processed[kkiapay.Event](f)
	require.Len(t, events, 1, "confirmed by the status API")
	e := events[0]
	assert.True(t, e.Paid())
	assert.Equal(t, "2500", e.Amount.String())
	assert.Equal(t, "cust-12", e.PartnerID)
	assert.Equal(t, "Order 12", e.Label)
	assert.Equal(t, start.Add(time.Minute), e.PerformedAt)
	require.NotNil(t, e.Confirmation)
	assert.Equal(t, kkiapay.StatusSuccess, e.Confirmation.Status)

	tx, err = cl.Status(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusSuccess, tx.Status)
	assert.Equal(t, kkiapay.MobileMoney, tx.Source)
	assert.Equal(t, "2500", tx.Income.String())
	assert.Equal(t, start.Add(time.Minute), tx.PerformedAt)
	assert.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), tx.PerformedOn)
	assert.Equal(t, "22996000000", tx.Client.Phone)

	failed := f.begin("kkiapay", url.Values{"amount": {"300"}, "method": {"CARD"}})
	f.press(failed, "fail", "failure_code", "insufficient_fund")
	events = processed[kkiapay.Event](f)
	require.Len(t, events, 2)
	assert.Equal(t, kkiapay.TransactionFailed, events[1].Type)
	assert.Equal(t, "insufficient_fund", events[1].FailureCode)
	assert.Equal(t, kkiapay.StatusFailed, events[1].Confirmation.Status)
	assert.Equal(t, "0", events[1].Confirmation.Income.String())

	_, err = cl.Revert(ctx, strings.TrimPrefix(failed, "/checkout/kkiapay/"))
	var apiErr *kkiapay.APIError
	require.ErrorAs(t, err, &apiErr, "only a successful transaction is reverted")
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	tx, err = cl.Revert(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusReverted, tx.Status)
	tx, err = cl.Status(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusReverted, tx.Status)

	// The success webhook sent again no longer agrees with the API.
	status, loc, _ := f.post("/deliveries/1/resend", url.Values{"back": {ok}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, ok, loc)
	f.sb.wait()
	d := f.delivered(ok)
	require.Len(t, d, 2)
	assert.Equal(t, 1, d[1].resendOf)
	assert.Equal(t, d[0].body, d[1].body, "the same request")
	assert.Equal(t, http.StatusOK, d[1].attempts[0].status, "already processed: the merchant's idempotency answers first")

	_, err = cl.Status(ctx, "unknown")
	assert.ErrorIs(t, err, kkiapay.ErrNotFound)
	bad, err := kkiapay.NewClient(kkPub, kkPriv, "wrong", kkiapay.WithBaseURL(f.srv.URL))
	require.NoError(t, err)
	_, err = bad.Status(ctx, id)
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
}

func TestKKiaPayStatusAPIWithoutKeysRefusesAll(t *testing.T) {
	f := newFixture(t, func(c *Config, _ string) { c.KKiaPay.PublicKey, c.KKiaPay.PrivateKey, c.KKiaPay.SecretKey = "", "", "" })
	cl, err := kkiapay.NewClient("", "x", "y", kkiapay.WithBaseURL(f.srv.URL))
	require.Error(t, err, "the client needs keys")
	assert.Nil(t, cl)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/transactions/status", strings.NewReader(`{"transactionId":"x"}`))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode, "no keys configured: no key matches, not even empty ones")
}

// TestKasperoPayCompletedAndConfirmed: one signed delivery of
// payment.completed, confirmed by the merchant with the status API, which
// answers pending before and completed after, with confirmed_at.
func TestKasperoPayCompletedAndConfirmed(t *testing.T) {
	f := newFixture(t)
	cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(f.srv.URL))
	require.NoError(t, err)
	ctx := context.Background()
	checkout := f.begin("kasperopay", url.Values{"amount": {"25.50"}, "item": {"T-Shirt"}, "order_id": {"ord_9"}})
	id := strings.TrimPrefix(checkout, "/checkout/kasperopay/")

	pay, err := cl.Status(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, kasperopay.StatusPending, pay.Status)
	assert.True(t, pay.ConfirmedAt.IsZero())
	assert.Empty(t, pay.TxID)
	assert.Equal(t, start.Add(15*time.Minute), pay.ExpiresAt)

	f.clock.Advance(2 * time.Minute)
	f.press(checkout, "pay")
	events := processed[kasperopay.Event](f)
	require.Len(t, events, 1, "signed and confirmed")
	e := events[0]
	assert.True(t, e.Signed)
	assert.Equal(t, "25.5", e.AmountKAS.String())
	assert.Equal(t, "2.55", e.AmountUSD.String())
	assert.Equal(t, "ord_9", e.OrderID)
	assert.Equal(t, "T-Shirt", e.Item)
	assert.Equal(t, start.Add(2*time.Minute), e.Timestamp)
	require.NotNil(t, e.Confirmation)
	assert.Equal(t, start.Add(2*time.Minute), e.Confirmation.ConfirmedAt)
	assert.Equal(t, e.TransactionID, e.Confirmation.TxID)
	assert.Len(t, e.TransactionID, 64)

	pay, err = cl.Status(ctx, id)
	require.NoError(t, err)
	assert.True(t, pay.Completed())
	assert.Equal(t, e.TransactionID, pay.TxID)

	d := f.delivered(checkout)
	require.Len(t, d, 1)
	assert.Equal(t, []int{http.StatusOK}, statuses(d[0]))

	_, err = cl.Status(ctx, "pay_unknown")
	assert.ErrorIs(t, err, kasperopay.ErrNotFound)
}

func TestKasperoPayUnsignedWithoutSecret(t *testing.T) {
	f := newFixture(t, func(c *Config, _ string) { c.KasperoPay.WebhookSecret = "" })
	checkout := f.begin("kasperopay", url.Values{"amount": {"1"}})
	f.press(checkout, "pay")
	d := f.delivered(checkout)
	require.Len(t, d, 1)
	assert.Empty(t, d[0].header.Get(kasperopay.SignatureHeader))
	events := processed[kasperopay.Event](f)
	require.Len(t, events, 1, "accepted on the status API's word alone")
	assert.False(t, events[0].Signed)
}

func TestKasperoPayExpires(t *testing.T) {
	f := newFixture(t)
	cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(f.srv.URL))
	require.NoError(t, err)
	left := f.begin("kasperopay", url.Values{"amount": {"3"}})
	pressed := f.begin("kasperopay", url.Values{"amount": {"4"}})
	f.press(pressed, "expire")

	f.clock.Advance(15 * time.Minute)
	for _, checkout := range []string{left, pressed} {
		pay, err := cl.Status(context.Background(), strings.TrimPrefix(checkout, "/checkout/kasperopay/"))
		require.NoError(t, err)
		assert.Equal(t, kasperopay.StatusExpired, pay.Status)
		assert.Empty(t, f.delivered(checkout), "KasperoPay sends payment.completed only")
		_, page := f.get(checkout)
		assert.NotContains(t, page, `value="pay"`)
		assert.Contains(t, page, "No webhook sent for this payment.")
	}
	status, _, _ := f.post(left, url.Values{"action": {"pay"}})
	assert.Equal(t, http.StatusConflict, status, "too late to pay")
}

// TestOffProviders: a provider that is off says so on its API and its
// form, and cannot start payments.
func TestOffProviders(t *testing.T) {
	sb, err := New(Config{})
	require.NoError(t, err)
	rec := httptestDo(sb, http.MethodPost, "/wallet/createPaymentLink", `{"amount":"1","currency":"USD"}`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "KAZAWALLET_API_KEY")
	rec = httptestDo(sb, http.MethodPost, "/api/v1/transactions/status", `{"transactionId":"x"}`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	rec = httptestDo(sb, http.MethodPost, "/checkout/kasperopay", "amount=1")
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.Contains(t, rec.Body.String(), "KASPEROPAY_ENABLED=1")
	rec = httptestDo(sb, http.MethodGet, "/", "")
	assert.Equal(t, 3, strings.Count(rec.Body.String(), "<strong>Off:</strong>"))
	assert.NotContains(t, rec.Body.String(), "<form")
}

// TestStatusAPIShapes checks the JSON the status APIs send, field by field,
// against the shapes the providers document.
func TestStatusAPIShapes(t *testing.T) {
	f := newFixture(t)
	kk := f.begin("kkiapay", url.Values{"amount": {"1000"}, "method": {"MOBILE_MONEY"}, "account": {"22996000000"}})
	f.press(kk, "succeed")
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/api/v1/transactions/status",
		strings.NewReader(`{"transactionId":"`+strings.TrimPrefix(kk, "/checkout/kkiapay/")+`"}`))
	req.Header.Set("x-api-key", kkPub)
	req.Header.Set("x-private-key", kkPriv)
	req.Header.Set("x-secret-key", kkSec)
	var tx map[string]any
	getJSON(t, req, &tx)
	for _, k := range []string{"performed_at", "type", "status", "source", "source_common_name", "amount", "fees", "reason",
		"failureCode", "failureMessage", "state", "partnerId", "feeSupportedBy", "income", "transactionId", "performedAt", "client"} {
		assert.Contains(t, tx, k)
	}
	assert.Equal(t, 1000.0, tx["amount"], "a JSON number")
	assert.Equal(t, "01/03/2026", tx["performedAt"], "dd/mm/yyyy")
	assert.Equal(t, "2026-03-01T12:00:00.000Z", tx["performed_at"])

	kp := f.begin("kasperopay", url.Values{"amount": {"25.5"}})
	req, _ = http.NewRequest(http.MethodGet, f.srv.URL+"/pay/status/"+strings.TrimPrefix(kp, "/checkout/kasperopay/"), nil)
	var pay map[string]any
	getJSON(t, req, &pay)
	assert.Equal(t, map[string]any{"payment_id": strings.TrimPrefix(kp, "/checkout/kasperopay/"), "status": "pending",
		"amount_kas": 25.5, "amount_usd": 2.55, "txid": nil, "store_name": "payhook sandbox", "confirmed_at": nil,
		"expires_at": "2026-03-01T12:15:00Z"}, pay)
}

func getJSON(t *testing.T, req *http.Request, v any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NoError(t, json.NewDecoder(res.Body).Decode(v))
}

// TestPagesShowNoSecret: no credential and no signature reaches a page.
func TestPagesShowNoSecret(t *testing.T) {
	f := newFixture(t)
	kw := f.begin("kazawallet", url.Values{"amount": {"10.00"}, "currency": {"USD"}})
	f.press(kw, "pay")
	kk := f.begin("kkiapay", url.Values{"amount": {"1000"}, "method": {"CARD"}})
	f.press(kk, "succeed")
	kp := f.begin("kasperopay", url.Values{"amount": {"2"}})
	f.press(kp, "pay")

	var secrets []string
	for _, c := range []string{kw, kk, kp} {
		for _, d := range f.delivered(c) {
			if sig := d.header.Get(kasperopay.SignatureHeader); sig != "" {
				secrets = append(secrets, sig)
			}
			var body map[string]any
			if json.Unmarshal(d.body, &body) == nil && body["secret"] != nil {
				secrets = append(secrets, body["secret"].(string))
			}
		}
	}
	require.Len(t, secrets, 2, "the Kazawallet and KasperoPay signatures")
	secrets = append(secrets, kwKey, kwSecret, kkHash, kkPub, kkPriv, kkSec, kpSecret)
	for _, path := range []string{"/", "/payments", kw, kk, kp} {
		_, page := f.get(path)
		for _, s := range secrets {
			assert.NotContains(t, page, s, path)
		}
		// html/template escapes + in the base64 signature; check that form too.
		for _, s := range secrets[:2] {
			assert.NotContains(t, page, strings.ReplaceAll(s, "+", "&#43;"), path)
		}
	}
	_, page := f.get("/payments")
	assert.Equal(t, 3, strings.Count(page, "REDACTED"), "one per request shown")
}

// httptestDo serves one request with h, in process.
func httptestDo(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if method == http.MethodPost && !strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
