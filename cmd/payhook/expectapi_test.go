package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/expect"
)

// expectAPIMux is the expectations endpoints on a mux of their own, over
// a memory store, with kazawallet and kkiapay mounted.
func expectAPIMux(t *testing.T) (*http.ServeMux, expect.Store) {
	t.Helper()
	store := expect.NewMemory()
	r := newReconciler(&config{reconcileBackoff: time.Minute}, store)
	mux := http.NewServeMux()
	mountExpectations(mux, r, []string{"kazawallet", "kkiapay"}, slog.New(slog.DiscardHandler))
	return mux, store
}

func doAPI(mux http.Handler, method, path, body string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader(body)))
	return w
}

// TestExpectAPI registers, lists and cancels expectations over HTTP, as an
// application in any language does, and refuses what cannot be added.
func TestExpectAPI(t *testing.T) {
	mux, store := expectAPIMux(t)
	ctx := context.Background()

	w := doAPI(mux, http.MethodPost, "/expectations", `{"provider":"kkiapay","id":"tx_1","ref":"order_1","amount":1000,"currency":"XOF","deadline":"30m"}`)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	var line expectationLine
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &line))
	assert.Equal(t, expectationLine{Provider: "kkiapay", ID: "tx_1", Ref: "order_1", Amount: "1000", Currency: "XOF", State: "pending"},
		expectationLine{Provider: line.Provider, ID: line.ID, Ref: line.Ref, Amount: line.Amount, Currency: line.Currency, State: line.State})
	assert.WithinDuration(t, time.Now().Add(30*time.Minute), line.Deadline, time.Minute)
	require.NotNil(t, line.NextPoll, "due for a poll")
	assert.WithinDuration(t, time.Now().Add(time.Minute), *line.NextPoll, 10*time.Second, "after the first wait")

	x, err := store.Get(ctx, expect.Key{Provider: "kkiapay", ID: "tx_1"})
	require.NoError(t, err)
	assert.Equal(t, "order_1", x.Ref)

	w = doAPI(mux, http.MethodPost, "/expectations", `{"provider":"kazawallet","ref":"order_2","amount":"10.00","currency":"USD"}`)
	require.Equal(t, http.StatusCreated, w.Code, w.Body.String())
	x, err = store.Get(ctx, expect.Key{Provider: "kazawallet", Ref: "order_2"})
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(payhook.DefaultExpectDeadline), x.Deadline, time.Minute, "the default deadline")

	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"exists", `{"provider":"kkiapay","id":"tx_1","amount":"1","currency":"XOF"}`, http.StatusConflict, "already expects"},
		{"ref exists", `{"provider":"kazawallet","ref":"order_2","amount":"1","currency":"USD"}`, http.StatusConflict, "already expects"},
		{"not mounted", `{"provider":"kasperopay","id":"pay_1","amount":"1","currency":"KAS"}`, http.StatusBadRequest, "not mounted"},
		{"no id nor ref", `{"provider":"kkiapay","amount":"1","currency":"XOF"}`, http.StatusBadRequest, "neither id nor ref"},
		{"bad amount", `{"provider":"kkiapay","id":"tx_2","amount":"ten","currency":"XOF"}`, http.StatusBadRequest, "amount"},
		{"amount of another type", `{"provider":"kkiapay","id":"tx_2","amount":true,"currency":"XOF"}`, http.StatusBadRequest, "amount"},
		{"no currency", `{"provider":"kkiapay","id":"tx_2","amount":"1"}`, http.StatusBadRequest, "currency"},
		{"past deadline", `{"provider":"kkiapay","id":"tx_2","amount":"1","currency":"XOF","deadline":"2001-01-01T00:00:00Z"}`, http.StatusBadRequest, "deadline"},
		{"unknown field", `{"provider":"kkiapay","id":"tx_2","amount":"1","currency":"XOF","amout":"2"}`, http.StatusBadRequest, "unknown field"},
		{"not JSON", `provider=kkiapay`, http.StatusBadRequest, "not JSON"},
		{"too large", `{"ref":"` + strings.Repeat("x", maxExpectationBody) + `"}`, http.StatusRequestEntityTooLarge, "over"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := doAPI(mux, http.MethodPost, "/expectations", tc.body)
			assert.Equal(t, tc.status, w.Code, w.Body.String())
			assert.Contains(t, w.Body.String(), tc.want)
			assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
		})
	}

	w = doAPI(mux, http.MethodGet, "/expectations", "")
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 2, strings.Count(w.Body.String(), "\n"), w.Body.String())
	w = doAPI(mux, http.MethodGet, "/expectations?provider=kazawallet&state=pending", "")
	assert.Equal(t, 1, strings.Count(w.Body.String(), "\n"), w.Body.String())
	assert.Contains(t, w.Body.String(), `"ref":"order_2"`)
	assert.Equal(t, http.StatusBadRequest, doAPI(mux, http.MethodGet, "/expectations?state=lost", "").Code)

	w = doAPI(mux, http.MethodDelete, "/expectations/kkiapay/tx_1", "")
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	w = doAPI(mux, http.MethodDelete, "/expectations/kazawallet?ref=order_2", "")
	assert.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, http.StatusNotFound, doAPI(mux, http.MethodDelete, "/expectations/kkiapay/tx_9", "").Code)
	assert.Equal(t, http.StatusBadRequest, doAPI(mux, http.MethodDelete, "/expectations/kazawallet", "").Code)
	w = doAPI(mux, http.MethodGet, "/expectations?state=cancelled", "")
	assert.Equal(t, 2, strings.Count(w.Body.String(), "\n"), w.Body.String())

	_, err = store.Settle(ctx, expect.Key{Provider: "kazawallet", Ref: "order_3"}, expect.Settlement{PaymentID: "p", Outcome: "paid"})
	assert.ErrorIs(t, err, expect.ErrNotFound)
}

// TestExpectAPISettled: a settled expectation cannot be cancelled.
func TestExpectAPISettled(t *testing.T) {
	mux, store := expectAPIMux(t)
	require.Equal(t, http.StatusCreated, doAPI(mux, http.MethodPost, "/expectations", `{"provider":"kkiapay","id":"tx_1","amount":"1000","currency":"XOF"}`).Code)
	_, err := store.Settle(context.Background(), expect.Key{Provider: "kkiapay", ID: "tx_1"}, expect.Settlement{PaymentID: "tx_1", Outcome: "paid", At: time.Now()})
	require.NoError(t, err)
	w := doAPI(mux, http.MethodDelete, "/expectations/kkiapay/tx_1", "")
	assert.Equal(t, http.StatusConflict, w.Code)
	w = doAPI(mux, http.MethodGet, "/expectations?state=settled", "")
	assert.Contains(t, w.Body.String(), `"payment_id":"tx_1"`)
	assert.Contains(t, w.Body.String(), `"outcome":"paid"`)
}

// TestServeExpectationsEndpoint: serve (in-process, the memory store)
// takes expectations on its admin listener only, behind its token, polls
// the status API for them at once, and prints the payment it finds with
// its expectation; the webhook that comes afterwards is already processed.
func TestServeExpectationsEndpoint(t *testing.T) {
	api := kasperopayStatusAPI(t)
	const token = "0123456789abcdef0123456789abcdef"
	srv := startServeAll(t, map[string]string{"KASPEROPAY_ENABLED": "1", "KASPEROPAY_API_URL": api.URL,
		"PAYHOOK_RECONCILE_BACKOFF": "10ms", "PAYHOOK_ADMIN_TOKEN": token})
	require.NotEmpty(t, srv.admin)
	body := `{"provider":"kasperopay","id":"pay_ok","ref":"order_7","amount":"150.50","currency":"KAS","deadline":"1h"}`
	post := func(base, token string) int {
		req, err := http.NewRequest(http.MethodPost, base+"/expectations", strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	assert.Equal(t, http.StatusUnauthorized, post(srv.admin, ""), "the admin token is required")
	assert.Equal(t, http.StatusNotFound, post(srv.base, token), "never on the public listener")
	require.Equal(t, http.StatusCreated, post(srv.admin, token))
	assert.Equal(t, http.StatusConflict, post(srv.admin, token))

	srv.stdout.waitFor(t, 10*time.Second, func(out string) bool { return strings.Contains(out, `"key":"pay_ok"`) })
	assert.Contains(t, srv.stdout.String(), `"expectation":{"id":"pay_ok","ref":"order_7","amount":"150.50","currency":"KAS"}`)
	code, answer := postJSON(t, srv.base+"/webhooks/kasperopay", kasperopayWebhook("pay_ok", "150.5", time.Now()))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "already processed\n", answer, "the webhook, second through its door")
	assert.Len(t, readLines(t, srv.stdout.String()), 1)

	req, err := http.NewRequest(http.MethodGet, srv.admin+"/expectations?state=settled", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var x expectationLine
	require.NoError(t, json.NewDecoder(res.Body).Decode(&x))
	assert.Equal(t, "pay_ok", x.PaymentID)
	assert.Equal(t, "paid", x.Outcome)
}

// TestExpectAPICrossOrigin: a page of another site cannot add or cancel an
// expectation through the operator's browser. On loopback the admin
// listener takes no token, and a form posted as text/plain is a request a
// browser sends without asking: it must be refused, as the operator's page
// refuses its forms (403), while curl and applications, which send no
// Sec-Fetch-Site nor Origin, are served.
func TestExpectAPICrossOrigin(t *testing.T) {
	mux, store := expectAPIMux(t)
	body := `{"provider":"kazawallet","ref":"order_1","amount":"0.01","currency":"USD"}`
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}, {"Origin", "http://evil.example"}} {
		req := httptest.NewRequest(http.MethodPost, "/expectations", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set(h[0], h[1])
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		assert.Equal(t, http.StatusForbidden, w.Code, "%s: %s", h, w.Body.String())
	}
	_, err := store.Get(context.Background(), expect.Key{Provider: "kazawallet", Ref: "order_1"})
	assert.ErrorIs(t, err, expect.ErrNotFound, "nothing added from another site")

	require.Equal(t, http.StatusCreated, doAPI(mux, http.MethodPost, "/expectations", body).Code, "curl, as the docs show it")
	req := httptest.NewRequest(http.MethodDelete, "/expectations/kazawallet?ref=order_1", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	assert.Equal(t, http.StatusForbidden, w.Code)
	x, err := store.Get(context.Background(), expect.Key{Provider: "kazawallet", Ref: "order_1"})
	require.NoError(t, err)
	assert.Equal(t, expect.Pending, x.State, "not cancelled from another site")
}

// TestExpectAPITooLarge: a body over the bound is answered 413, as every
// body too large is, not 400.
func TestExpectAPITooLarge(t *testing.T) {
	mux, _ := expectAPIMux(t)
	w := doAPI(mux, http.MethodPost, "/expectations", `{"ref":"`+strings.Repeat("x", maxExpectationBody)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code, w.Body.String())
	assert.Contains(t, w.Body.String(), "over")
}

// TestExpectAPIOneExpectationABody: a body holding more than one JSON
// value is refused whole (400), not read up to its first value with the
// rest dropped without a word.
func TestExpectAPIOneExpectationABody(t *testing.T) {
	mux, store := expectAPIMux(t)
	w := doAPI(mux, http.MethodPost, "/expectations",
		`{"provider":"kazawallet","ref":"order_1","amount":"1","currency":"USD"}`+"\n"+`{"provider":"kazawallet","ref":"order_2","amount":"2","currency":"USD"}`)
	assert.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	_, err := store.Get(context.Background(), expect.Key{Provider: "kazawallet", Ref: "order_1"})
	assert.ErrorIs(t, err, expect.ErrNotFound, "nothing added")
	assert.Equal(t, http.StatusCreated, doAPI(mux, http.MethodPost, "/expectations", `{"provider":"kazawallet","ref":"order_1","amount":"1","currency":"USD"}`+"\n").Code,
		"a line break after the one value is fine")
}
