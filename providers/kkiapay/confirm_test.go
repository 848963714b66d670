package kkiapay_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
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
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kkiapay"
)

// receiver is a payhook.Handle for KKiaPay behind a real HTTP server,
// recording the events its handler gets.
type receiver struct {
	url    string
	mu     sync.Mutex
	events []kkiapay.Event
	fail   atomic.Int32                    // the handler fails this many more times
	block  func(ctx context.Context) error // if set, the handler calls it first; guarded by mu
}

func newReceiver(t *testing.T, p *kkiapay.Provider, opts ...payhook.Option) *receiver {
	r := &receiver{}
	srv := httptest.NewServer(payhook.Handle(p, func(ctx context.Context, e kkiapay.Event) error {
		r.mu.Lock()
		block := r.block
		r.mu.Unlock()
		if block != nil {
			if err := block(ctx); err != nil {
				return err
			}
		}
		if r.fail.Add(-1) >= 0 {
			return errors.New("database down")
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, e)
		return nil
	}, opts...))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *receiver) processed() []kkiapay.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]kkiapay.Event(nil), r.events...)
}

// post sends one delivery as KKiaPay does, the header in lower case.
func post(t testing.TB, url, secret, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header["x-kkiapay-secret"] = []string{secret} // sent as is on the wire
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

func webhook(t testing.TB, id string, changes map[string]any) string {
	t.Helper()
	c := map[string]any{"transactionId": id}
	for k, v := range changes {
		c[k] = v
	}
	return string(with(t, c))
}

func TestConfirmation(t *testing.T) {
	api := newFakeAPI(t)
	p := mustNew(t, kkiapay.WithConfirmation(api.client(t)))
	failed := map[string]any{"event": "transaction.failed", "isPaymentSucces": false, "amount": nil, "fees": nil,
		"failureCode": "payment_declined"}
	tests := []struct {
		name     string
		webhook  map[string]any // changes to the success webhook
		api      map[string]any // changes to the status answer, whose amount is 25350; nil: 404
		apiCode  int            // instead, this answer
		apiBody  string
		want     int
		wantAmnt string // the amount the handler sees
	}{
		{name: "agree on success", webhook: map[string]any{"amount": 25350}, api: map[string]any{}, want: 200, wantAmnt: "25350"},
		{name: "agree on an amount written otherwise", webhook: map[string]any{"amount": "25350.00"}, api: map[string]any{}, want: 200, wantAmnt: "25350.00"},
		{name: "agree on failure, the amount taken from the API", webhook: failed, api: map[string]any{"status": "FAILED"}, want: 200, wantAmnt: "25350"},
		{name: "unknown event refused before the API is asked", webhook: map[string]any{"event": "transaction.disputed", "amount": 25350}, api: map[string]any{"status": "REVERTED"}, want: 400},

		{name: "webhook success, API failed", webhook: map[string]any{"amount": 25350}, api: map[string]any{"status": "FAILED"}, want: 401},
		{name: "webhook success, API reverted", webhook: map[string]any{"amount": 25350}, api: map[string]any{"status": "REVERTED"}, want: 401},
		{name: "webhook failed, API success", webhook: failed, api: map[string]any{}, want: 401},
		{name: "amount raised", webhook: map[string]any{"amount": 2535000}, api: map[string]any{}, want: 401},
		{name: "amount lowered", webhook: map[string]any{"amount": "25349.99"}, api: map[string]any{}, want: 401},
		{name: "API answers for another transaction", webhook: map[string]any{"amount": 25350}, api: map[string]any{"transactionId": "other"}, want: 401},
		{name: "not found, 404", webhook: map[string]any{"amount": 25350}, want: 401},
		{name: "not found, 200 TRANSACTION_NOT_FOUND", webhook: map[string]any{"amount": 25350}, apiCode: 200, apiBody: `{"status":"TRANSACTION_NOT_FOUND"}`, want: 401},
		{name: "unknown event, not found", webhook: map[string]any{"event": "transaction.disputed"}, want: 400},

		{name: "PENDING is not a success", webhook: map[string]any{"amount": 25350}, api: map[string]any{"status": "PENDING"}, want: 503},
		{name: "PENDING is not a failure either", webhook: failed, api: map[string]any{"status": "PENDING"}, want: 503},
		{name: "API error", webhook: map[string]any{"amount": 25350}, apiCode: 500, apiBody: `{"error":"oops"}`, want: 503},
		{name: "API refuses our keys", webhook: map[string]any{"amount": 25350}, apiCode: 401, apiBody: `{"message":"bad keys"}`, want: 503},
		{name: "API answers HTML", webhook: map[string]any{"amount": 25350}, apiCode: 200, apiBody: `<html>maintenance</html>`, want: 503},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t, p)
			id := "tx_" + strings.Repeat("x", i)
			switch {
			case tt.apiCode != 0:
				api.answer(id, tt.apiCode, tt.apiBody)
			case tt.api != nil:
				changes := map[string]any{}
				for k, v := range tt.api {
					changes[k] = v
				}
				api.transaction(t, id, changes)
			}
			code, body := post(t, rcv.url, hashSecret, webhook(t, id, tt.webhook))
			require.Equal(t, tt.want, code, body)
			events := rcv.processed()
			if tt.want != 200 {
				assert.Empty(t, events, "the handler is not called")
				assert.Equal(t, http.StatusText(code)+"\n", body, "nothing of the reason reaches KKiaPay")
				return
			}
			require.Len(t, events, 1)
			e := events[0]
			assert.Equal(t, id, e.TransactionID)
			assert.Equal(t, tt.wantAmnt, e.Amount.String())
			require.NotNil(t, e.Confirmation)
			assert.Equal(t, id, e.Confirmation.TransactionID)
			assert.Equal(t, "Anonymous customer", e.Confirmation.Client.Fullname)
		})
	}
}

func TestConfirmationHeaderFirst(t *testing.T) {
	api := newFakeAPI(t)
	api.transaction(t, "tx_1", nil)
	rcv := newReceiver(t, mustNew(t, kkiapay.WithConfirmation(api.client(t))))
	code, _ := post(t, rcv.url, "wrong", webhook(t, "tx_1", map[string]any{"amount": 25350}))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Empty(t, api.calls(), "a delivery without the secret never reaches the API")
	assert.Empty(t, rcv.processed())
}

func TestConfirmationAPIDown(t *testing.T) {
	api := newFakeAPI(t)
	p := mustNew(t, kkiapay.WithConfirmation(api.client(t, kkiapay.WithTimeout(100*time.Millisecond))))
	rcv := newReceiver(t, p)
	body := webhook(t, "tx_down", map[string]any{"amount": 25350})

	api.answer("tx_down", http.StatusBadGateway, `<html>502 Bad Gateway</html>`)
	code, _ := post(t, rcv.url, hashSecret, body)
	assert.Equal(t, http.StatusServiceUnavailable, code, "an API error")

	api.hold("tx_down")
	code, _ = post(t, rcv.url, hashSecret, body)
	assert.Equal(t, http.StatusServiceUnavailable, code, "an API that does not answer in time")
	assert.Empty(t, rcv.processed())

	// The API is back: KKiaPay's next retry is processed, once.
	api.transaction(t, "tx_down", nil)
	code, _ = post(t, rcv.url, hashSecret, body)
	assert.Equal(t, http.StatusOK, code)
	code, answer := post(t, rcv.url, hashSecret, body)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "already processed\n", answer)
	assert.Len(t, rcv.processed(), 1)

	// The API goes down again: a duplicate of the processed event is still
	// acknowledged, without a call to the API (the claim comes first).
	calls := len(api.calls())
	api.answer("tx_down", http.StatusBadGateway, `<html>502 Bad Gateway</html>`)
	code, answer = post(t, rcv.url, hashSecret, body)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "already processed\n", answer)
	assert.Len(t, api.calls(), calls, "no API call for a duplicate")
}

// deliverLikeKKiaPay plays KKiaPay's delivery of one webhook: a first
// attempt, then up to 5 retries while the answer is not 2xx. pause(n)
// stands for the wait before retry n, 500 ms × n in KKiaPay; the tests pass
// a func that waits for an event rather than for time. It returns the
// statuses answered.
func deliverLikeKKiaPay(t testing.TB, url, body string, notOK func(), pause func(retry int)) []int {
	var codes []int
	for attempt := 0; attempt <= 5; attempt++ {
		if attempt > 0 {
			pause(attempt)
		}
		code, _ := post(t, url, hashSecret, body)
		codes = append(codes, code)
		if code >= 200 && code < 300 {
			return codes
		}
		notOK()
	}
	return codes
}

func TestKKiaPayRetriesConcurrentDuplicates(t *testing.T) {
	for _, confirm := range []bool{false, true} {
		name := "header only"
		if confirm {
			name = "with confirmation"
		}
		t.Run(name, func(t *testing.T) {
			var opts []kkiapay.Option
			if confirm {
				api := newFakeAPI(t)
				api.transaction(t, "tx_dup", nil)
				opts = append(opts, kkiapay.WithConfirmation(api.client(t)))
			}
			rcv := newReceiver(t, mustNew(t, opts...))
			const deliveries = 8
			release := make(chan struct{})
			rcv.mu.Lock()
			rcv.block = func(ctx context.Context) error { <-release; return nil }
			rcv.mu.Unlock()
			done := make(chan struct{}) // closed when a delivery is acknowledged
			var once sync.Once
			refused := make(chan struct{}, 6*deliveries)

			body := webhook(t, "tx_dup", map[string]any{"amount": 25350})
			results := make([][]int, deliveries)
			var wg sync.WaitGroup
			for i := range deliveries {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i] = deliverLikeKKiaPay(t, rcv.url, body,
						func() { refused <- struct{}{} },
						func(int) { <-done })
					if c := results[i][len(results[i])-1]; c >= 200 && c < 300 {
						once.Do(func() { close(done) })
					}
				}()
			}
			// Every duplicate is turned away (409) while the first is being
			// processed; then the handler finishes.
			for range deliveries - 1 {
				<-refused
			}
			close(release)
			wg.Wait()

			require.Len(t, rcv.processed(), 1, "processed exactly once")
			for i, codes := range results {
				assert.LessOrEqual(t, len(codes), 6, "delivery %d: at most 5 retries", i)
				assert.Equal(t, http.StatusOK, codes[len(codes)-1], "delivery %d acknowledged: %v", i, codes)
				for _, c := range codes[:len(codes)-1] {
					assert.Equal(t, http.StatusConflict, c, "delivery %d: only in-flight refusals before: %v", i, codes)
				}
			}
			// A late retry, after completion, is acknowledged too.
			code, answer := post(t, rcv.url, hashSecret, body)
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "already processed\n", answer)
		})
	}
}

func TestKKiaPayRetriesAfterHandlerFailure(t *testing.T) {
	rcv := newReceiver(t, mustNew(t))
	rcv.fail.Store(2) // the first two attempts fail, as with a database that restarts
	var pauses []int
	codes := deliverLikeKKiaPay(t, rcv.url, webhook(t, "tx_retry", nil), func() {}, func(n int) { pauses = append(pauses, n) })
	assert.Equal(t, []int{500, 500, 200}, codes)
	assert.Equal(t, []int{1, 2}, pauses, "500 ms, then 1 s in KKiaPay's schedule")
	assert.Len(t, rcv.processed(), 1)
}

func TestKKiaPayGivesUpAfterFiveRetries(t *testing.T) {
	rcv := newReceiver(t, mustNew(t))
	rcv.fail.Store(100)
	codes := deliverLikeKKiaPay(t, rcv.url, webhook(t, "tx_lost", nil), func() {}, func(int) {})
	assert.Len(t, codes, 6, "one attempt and five retries")
	assert.Empty(t, rcv.processed())
}

// TestForgedEventTypeReleasesKey (issue 8, finding 1): a delivery whose
// event disagrees with the status API, or names an event KKiaPay does not
// document, is refused without holding or marking the transaction's key, so
// that the genuine delivery is then processed; a transaction the API has
// not settled is 503 (payhook.ErrPending), never 401.
func TestForgedEventTypeReleasesKey(t *testing.T) {
	api := newFakeAPI(t)
	rcv := newReceiver(t, mustNew(t, kkiapay.WithConfirmation(api.client(t))))
	success := map[string]any{"amount": 25350}

	api.transaction(t, "tx_forged", nil) // SUCCESS
	code, _ := post(t, rcv.url, hashSecret, webhook(t, "tx_forged", map[string]any{"event": "transaction.pending", "amount": 25350}))
	assert.Equal(t, http.StatusBadRequest, code, "an undocumented event is malformed")
	code, _ = post(t, rcv.url, hashSecret, webhook(t, "tx_forged", map[string]any{"event": "transaction.failed", "amount": 25350}))
	assert.Equal(t, http.StatusUnauthorized, code, "a failure the API does not confirm")
	assert.Empty(t, rcv.processed())
	code, body := post(t, rcv.url, hashSecret, webhook(t, "tx_forged", success))
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, "ok\n", body, "processed, not \"already processed\"")
	events := rcv.processed()
	require.Len(t, events, 1)
	assert.Equal(t, kkiapay.TransactionSuccess, events[0].Type)

	api.transaction(t, "tx_pending", map[string]any{"status": "PENDING"})
	code, _ = post(t, rcv.url, hashSecret, webhook(t, "tx_pending", success))
	assert.Equal(t, http.StatusServiceUnavailable, code, "not settled yet: never 401")
	api.transaction(t, "tx_pending", nil)
	code, body = post(t, rcv.url, hashSecret, webhook(t, "tx_pending", success))
	assert.Equal(t, http.StatusOK, code, "KKiaPay's retry, once the API has settled: %s", body)
	assert.Len(t, rcv.processed(), 2)
}

// TestConfirmPendingIsErrPending (issue 8, finding 1): Confirm reports a
// PENDING transaction with payhook.ErrPending, not ErrInvalidSignature.
func TestConfirmPendingIsErrPending(t *testing.T) {
	api := newFakeAPI(t)
	api.transaction(t, "tx_1", map[string]any{"status": "PENDING"})
	p := mustNew(t, kkiapay.WithConfirmation(api.client(t)))
	e, err := p.Verify(context.Background(), signed(hashSecret), []byte(webhook(t, "tx_1", map[string]any{"amount": 25350})))
	require.NoError(t, err)
	err = p.Confirm(context.Background(), &e)
	require.ErrorIs(t, err, payhook.ErrPending)
	assert.NotErrorIs(t, err, payhook.ErrInvalidSignature)
}

// TestConfirmationSprayCostsOneCall (issue 8, finding 4): the status API's
// answer for a settled transaction is remembered per transaction id, so a
// spray of deliveries naming one transaction costs one call; it is asked
// again once WithAnswerTTL is over.
func TestConfirmationSprayCostsOneCall(t *testing.T) {
	api := newFakeAPI(t)
	api.transaction(t, "tx_1", nil) // SUCCESS, 25350
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	rcv := newReceiver(t, mustNew(t, kkiapay.WithConfirmation(api.client(t)), kkiapay.WithClock(now)))
	for range 100 {
		code, _ := post(t, rcv.url, hashSecret, webhook(t, "tx_1", map[string]any{"amount": 1}))
		require.Equal(t, http.StatusUnauthorized, code)
	}
	assert.Len(t, api.calls(), 1)
	mu.Lock()
	clock = clock.Add(kkiapay.DefaultAnswerTTL)
	mu.Unlock()
	code, _ := post(t, rcv.url, hashSecret, webhook(t, "tx_1", map[string]any{"amount": 25350}))
	assert.Equal(t, http.StatusOK, code)
	assert.Len(t, api.calls(), 2, "asked again once the answer is too old")
}

// TestConfirmationsInFlightCapped (issue 8, finding 4): at most
// WithConcurrentConfirmations calls of the status API run at once.
func TestConfirmationsInFlightCapped(t *testing.T) {
	api := newFakeAPI(t)
	for _, id := range []string{"tx_1", "tx_2", "tx_3"} {
		api.transaction(t, id, nil)
	}
	gate := payhooktest.NewGate(nil)
	t.Cleanup(gate.Open)
	cl := api.client(t, kkiapay.WithHTTPClient(&http.Client{Transport: gate}))
	p := mustNew(t, kkiapay.WithConfirmation(cl), kkiapay.WithConcurrentConfirmations(2))
	confirm := func(ctx context.Context, id string) error {
		e, err := p.Verify(ctx, signed(hashSecret), []byte(webhook(t, id, map[string]any{"amount": 25350})))
		if err != nil {
			return err
		}
		return p.Confirm(ctx, &e)
	}
	errs := make(chan error, 2)
	for _, id := range []string{"tx_1", "tx_2"} {
		go func() { errs <- confirm(context.Background(), id) }()
	}
	<-gate.Arrived()
	<-gate.Arrived()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the third delivery's client has gone while it waits for a slot
	assert.ErrorIs(t, confirm(ctx, "tx_3"), payhook.ErrUnavailable)
	assert.Empty(t, api.calls(), "no third call while two are in flight")
	gate.Open()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	assert.Len(t, api.calls(), 2)
}

// TestEventSurvivesJSON (issue 17): an event, its confirmation included,
// comes back whole from json.Marshal and json.Unmarshal, as it does from
// an inbox; Transaction.Raw was lost.
func TestEventSurvivesJSON(t *testing.T) {
	api := newFakeAPI(t)
	api.transaction(t, "3iH6wjHJ3", map[string]any{"amount": 1000, "state": `{"orderId":"ord_42"}`, "extra": "kept in Raw"})
	p := mustNew(t, kkiapay.WithConfirmation(api.client(t)))
	e, err := p.Verify(context.Background(), signed(hashSecret), with(t, map[string]any{"stateData": `{"orderId":"ord_42"}`}))
	require.NoError(t, err)
	require.NoError(t, p.Confirm(context.Background(), &e))
	require.NotNil(t, e.Confirmation)
	require.Contains(t, string(e.Confirmation.Raw), "kept in Raw")

	b, err := json.Marshal(e)
	require.NoError(t, err)
	var back kkiapay.Event
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, e, back)
}
