package payhooktest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
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

var kkEvent = kkiapay.Event{TransactionID: "tx_1", Type: kkiapay.TransactionSuccess, Method: kkiapay.MobileMoney,
	Account: "22996000000", Amount: payhook.MustAmount("1000"), Fees: payhook.MustAmount("19"),
	PerformedAt: time.Date(2026, 7, 13, 6, 34, 50, 276e6, time.UTC)}

func TestKKiaPayAPIStatus(t *testing.T) {
	pending := payhooktest.ConfirmedTransaction(kkEvent)
	pending.Status = kkiapay.StatusPending
	other := payhooktest.ConfirmedTransaction(kkEvent)
	other.Amount = payhook.MustAmount("999")

	tests := []struct {
		name       string
		answer     payhooktest.Answer
		wantStatus kkiapay.Status
		wantAmount string
		wantErr    error
	}{
		{"confirmed", payhooktest.Transaction(payhooktest.ConfirmedTransaction(kkEvent)), kkiapay.StatusSuccess, "1000", nil},
		{"pending", payhooktest.Transaction(pending), kkiapay.StatusPending, "1000", nil},
		{"another amount", payhooktest.Transaction(other), kkiapay.StatusSuccess, "999", nil},
		{"not found", payhooktest.NotFound(), "", "", kkiapay.ErrNotFound},
		{"not found, the 200 way", payhooktest.Respond(http.StatusOK, `{"status":"TRANSACTION_NOT_FOUND"}`), "", "", kkiapay.ErrNotFound},
		{"no answer set", payhooktest.Answer{}, "", "", kkiapay.ErrNotFound},
		{"down", payhooktest.Down(), "", "", payhook.ErrUnavailable},
		{"hangup", payhooktest.Hangup(), "", "", payhook.ErrUnavailable},
		{"slow, answering in time", payhooktest.Slow(10*time.Millisecond, payhooktest.Transaction(pending)), kkiapay.StatusPending, "1000", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := payhooktest.NewKKiaPayAPI(t)
			api.Set(kkEvent.TransactionID, tt.answer)
			tx, err := api.Client().Status(context.Background(), kkEvent.TransactionID)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantStatus, tx.Status)
				assert.Equal(t, tt.wantAmount, tx.Amount.String())
			}
			calls := api.Calls()
			require.NotEmpty(t, calls)
			assert.Equal(t, http.MethodPost, calls[0].Method)
			assert.Equal(t, "/api/v1/transactions/status", calls[0].Path)
			assert.Equal(t, kkEvent.TransactionID, calls[0].ID)
			assert.Equal(t, payhooktest.KKiaPayPublicKey, calls[0].Header.Get("X-Api-Key"))
			assert.JSONEq(t, `{"transactionId":"tx_1"}`, string(calls[0].Body))
		})
	}
}

func TestKKiaPayAPIWireFormat(t *testing.T) {
	api := payhooktest.NewKKiaPayAPI(t)
	api.Confirm(kkEvent)
	tx, err := api.Client().Status(context.Background(), kkEvent.TransactionID)
	require.NoError(t, err)
	assert.JSONEq(t, `{"performed_at":"2026-07-13T06:34:50.276Z","type":"DEBIT","status":"SUCCESS","source":"MOBILE_MONEY",
		"source_common_name":"","amount":1000,"fees":19,"reason":"","failureCode":"","failureMessage":"","state":null,
		"partnerId":"","feeSupportedBy":"merchant","transactionId":"tx_1","performedAt":"13/07/2026",
		"client":{"fullname":"Anonymous customer","phone":"22996000000","email":""}}`, string(tx.Raw))
	assert.Equal(t, kkEvent.PerformedAt, tx.PerformedAt)
	assert.Equal(t, time.Date(2026, 7, 13, 0, 0, 0, 0, time.UTC), tx.PerformedOn)
	tx.Raw = nil
	assert.Equal(t, payhooktest.ConfirmedTransaction(kkEvent), tx, "the client reads back the transaction given")
}

func TestKKiaPayAPISlowHonoursCancellation(t *testing.T) {
	api := payhooktest.NewKKiaPayAPI(t)
	api.Set("tx_slow", payhooktest.Slow(time.Hour, payhooktest.Transaction(payhooktest.ConfirmedTransaction(kkEvent))))
	cl := api.Client(kkiapay.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	start := time.Now()
	_, err := cl.Status(context.Background(), "tx_slow")
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.Less(t, time.Since(start), 30*time.Second, "the client's timeout ends the call, not the hour")

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = api.Client().Status(ctx, "tx_slow")
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
}

func TestKKiaPayAPIRefusals(t *testing.T) {
	api := payhooktest.NewKKiaPayAPI(t)
	api.Confirm(kkEvent)

	wrong, err := kkiapay.NewClient("pk", "tpk", "tsk", kkiapay.WithBaseURL(api.URL()))
	require.NoError(t, err)
	_, err = wrong.Status(context.Background(), kkEvent.TransactionID)
	var apiErr *kkiapay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)

	misrouted, err := kkiapay.NewClient(payhooktest.KKiaPayPublicKey, payhooktest.KKiaPayPrivateKey, payhooktest.KKiaPaySecretKey,
		kkiapay.WithBaseURL(api.URL()+"/v2"))
	require.NoError(t, err)
	_, err = misrouted.Status(context.Background(), kkEvent.TransactionID)
	require.ErrorAs(t, err, &apiErr, "a wrong route is not mistaken for an unknown transaction")
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	assert.NotErrorIs(t, err, kkiapay.ErrNotFound)
}

func TestKKiaPayAPIRevert(t *testing.T) {
	api := payhooktest.NewKKiaPayAPI(t)
	api.Confirm(kkEvent)
	cl := api.Client()
	tx, err := cl.Revert(context.Background(), kkEvent.TransactionID)
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusReverted, tx.Status)
	tx, err = cl.Status(context.Background(), kkEvent.TransactionID)
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusReverted, tx.Status, "a reverted transaction stays reverted")
	_, err = cl.Revert(context.Background(), "tx_unknown")
	assert.ErrorIs(t, err, kkiapay.ErrNotFound)
	assert.Equal(t, "/api/v1/transactions/revert", api.Calls()[0].Path)
}

func TestFakeDefaults(t *testing.T) {
	api := payhooktest.NewKKiaPayAPI(t)
	cl := api.Client()
	api.SetDefault(payhooktest.Down())
	_, err := cl.Status(context.Background(), "anything")
	assert.ErrorIs(t, err, payhook.ErrUnavailable, "the default answers ids without their own")

	api.Confirm(kkEvent)
	_, err = cl.Status(context.Background(), kkEvent.TransactionID)
	assert.NoError(t, err, "an id's own answer wins over the default")

	api.Set(kkEvent.TransactionID, payhooktest.Answer{})
	_, err = cl.Status(context.Background(), kkEvent.TransactionID)
	assert.ErrorIs(t, err, payhook.ErrUnavailable, "the zero Answer undoes Set")

	api.SetDefault(payhooktest.Answer{})
	api.Set("tx_late", payhooktest.Slow(20*time.Millisecond, payhooktest.Answer{}))
	start := time.Now()
	_, err = cl.Status(context.Background(), "tx_late")
	assert.ErrorIs(t, err, kkiapay.ErrNotFound, "Slow of the zero Answer delays the fake's own answer")
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
}

func TestFakeWrongProvidersAnswer(t *testing.T) {
	api := payhooktest.NewKasperoPayAPI(t)
	api.Set("pay_1", payhooktest.Transaction(kkiapay.Transaction{}))
	cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL()))
	require.NoError(t, err)
	_, err = cl.Status(context.Background(), "pay_1")
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.ErrorContains(t, err, "another provider's Answer")
}

func TestFakeConcurrentUse(t *testing.T) {
	api := payhooktest.NewKKiaPayAPI(t)
	cl := api.Client()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("tx_%d", i)
			e := kkEvent
			e.TransactionID = id
			api.Confirm(e)
			_, err := cl.Status(context.Background(), id)
			assert.NoError(t, err)
			_ = api.Calls()
		}()
	}
	wg.Wait()
	assert.Len(t, api.Calls(), 20)
}

func TestFakeCloseEndsSlowAnswers(t *testing.T) {
	api := payhooktest.NewKasperoPayAPI(nil)
	api.SetDefault(payhooktest.Slow(time.Hour, payhooktest.NotFound()))
	cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL()), kasperopay.WithTimeout(time.Minute))
	require.NoError(t, err)
	errc := make(chan error, 1)
	go func() {
		_, err := cl.Status(context.Background(), "pay_1")
		errc <- err
	}()
	require.Eventually(t, func() bool { return len(api.Calls()) == 1 }, 10*time.Second, time.Millisecond)
	api.Close()
	select {
	case err := <-errc:
		assert.ErrorIs(t, err, payhook.ErrUnavailable)
	case <-time.After(30 * time.Second):
		t.Fatal("Close left the slow call hanging")
	}
}

func TestKasperoPayAPI(t *testing.T) {
	pending := payhooktest.ConfirmedPayment(kpEvent)
	pending.Status = kasperopay.StatusPending
	tests := []struct {
		name       string
		id         string
		answer     payhooktest.Answer
		wantStatus kasperopay.Status
		wantErr    error
	}{
		{"confirmed", kpEvent.PaymentID, payhooktest.Payment(payhooktest.ConfirmedPayment(kpEvent)), kasperopay.StatusCompleted, nil},
		{"pending", kpEvent.PaymentID, payhooktest.Payment(pending), kasperopay.StatusPending, nil},
		{"not found", kpEvent.PaymentID, payhooktest.NotFound(), "", kasperopay.ErrNotFound},
		{"down", kpEvent.PaymentID, payhooktest.Down(), "", payhook.ErrUnavailable},
		{"hangup", kpEvent.PaymentID, payhooktest.Hangup(), "", payhook.ErrUnavailable},
		{"slow", kpEvent.PaymentID, payhooktest.Slow(time.Hour, payhooktest.NotFound()), "", payhook.ErrUnavailable},
		{"an id to escape", "pay/../x?y", payhooktest.Payment(kasperopay.Payment{PaymentID: "pay/../x?y", Status: kasperopay.StatusCompleted}), kasperopay.StatusCompleted, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := payhooktest.NewKasperoPayAPI(t)
			api.Set(tt.id, tt.answer)
			cl, err := kasperopay.NewClient(kasperopay.WithBaseURL(api.URL()), kasperopay.WithTimeout(50*time.Millisecond))
			require.NoError(t, err)
			p, err := cl.Status(context.Background(), tt.id)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.wantStatus, p.Status)
			}
			calls := api.Calls()
			require.NotEmpty(t, calls)
			assert.Equal(t, http.MethodGet, calls[0].Method)
			assert.Equal(t, tt.id, calls[0].ID)
		})
	}
}

func TestKasperoPayAPIWireFormat(t *testing.T) {
	api := payhooktest.NewKasperoPayAPI(t)
	api.Confirm(kpEvent)
	res, err := http.Get(api.URL() + "/pay/status/pay_xyz789")
	require.NoError(t, err)
	defer res.Body.Close()
	var got map[string]any
	require.NoError(t, decodeJSON(res, &got))
	assert.Equal(t, map[string]any{"payment_id": "pay_xyz789", "status": "completed", "amount_kas": 150.5, "amount_usd": 15.05,
		"txid": "abc123def456", "store_name": "payhooktest store", "confirmed_at": "2026-01-30T15:30:00Z",
		"expires_at": "2026-01-30T15:45:00Z"}, got)

	res, err = http.Get(api.URL() + "/api/pay/status/pay_xyz789")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	assert.Contains(t, res.Header.Get("Content-Type"), "text/html", "a route miss is an HTML page, not a JSON not-found")
}

func TestKazawalletAPI(t *testing.T) {
	api := payhooktest.NewKazawalletAPI(t)
	cl := api.Client()
	req := kazawallet.PaymentLinkRequest{Amount: payhook.MustAmount("10.00"), Currency: "USD", Email: "m@example.com",
		Ref: "order-42", RedirectURL: "https://shop.example/return"}
	link, err := cl.CreatePaymentLink(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, "lnk_1", link.OrderID)
	links := api.Links()
	require.Len(t, links, 1)
	assert.Equal(t, link.URL, links[0].URL)
	assert.Equal(t, payhooktest.Link{OrderID: "lnk_1", URL: link.URL, Amount: req.Amount, Currency: "USD", Email: req.Email,
		Ref: req.Ref, RedirectURL: req.RedirectURL}, links[0])

	// The webhook for the link verifies.
	p, err := kazawallet.New("key", "secret")
	require.NoError(t, err)
	sender := payhooktest.Kazawallet{APIKey: "key", APISecret: "secret"}
	r := sender.Request("/", links[0].Event(kazawallet.StatusFulfilled))
	e, err := verify(p, r.Header, readAll(t, r))
	require.NoError(t, err)
	assert.Equal(t, "order-42", e.Ref)
	assert.True(t, e.Paid())

	calls := api.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, "/wallet/createPaymentLink", calls[0].Path)
	assert.Equal(t, "order-42", calls[0].ID)
	assert.JSONEq(t, `{"amount":"10.00","currency":"USD","email":"m@example.com","ref":"order-42","redirectUrl":"https://shop.example/return"}`,
		string(calls[0].Body))

	tests := []struct {
		name    string
		answer  payhooktest.Answer
		wantKey string
		wantErr error
	}{
		{"unknown account", payhooktest.NotFound(), "USER_NOT_FOUND", nil},
		{"down", payhooktest.Down(), "", payhook.ErrUnavailable},
		{"hangup", payhooktest.Hangup(), "", payhook.ErrUnavailable},
		{"blocked", payhooktest.Respond(http.StatusForbidden, `{"error":{"message":"Blocked","details":{"key":"USER_IS_BLOCK_DU_TO_CHANGING_THE_IP"}}}`),
			"USER_IS_BLOCK_DU_TO_CHANGING_THE_IP", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api.Set("bad", tt.answer)
			_, err := cl.CreatePaymentLink(context.Background(), kazawallet.PaymentLinkRequest{Amount: payhook.MustAmount("1"), Currency: "USD", Ref: "bad"})
			require.Error(t, err)
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr)
			}
			var apiErr *kazawallet.APIError
			if tt.wantKey != "" && assert.True(t, errors.As(err, &apiErr), "%v", err) {
				assert.Equal(t, tt.wantKey, apiErr.Key)
			}
		})
	}
	assert.Len(t, api.Links(), 1, "failed calls create no link")

	wrongKey, err := kazawallet.NewClient("other-key", kazawallet.WithBaseURL(api.URL()))
	require.NoError(t, err)
	_, err = wrongKey.CreatePaymentLink(context.Background(), req)
	var apiErr *kazawallet.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "USER_NOT_FOUND", apiErr.Key)
}
