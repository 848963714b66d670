package kkiapay_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kkiapay"
)

func TestClientStatus(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("6516521598463777", http.StatusOK, statusAnswer)
	cl := api.client(t)

	tx, err := cl.Status(context.Background(), "6516521598463777")
	require.NoError(t, err)
	assert.Equal(t, "6516521598463777", tx.TransactionID)
	assert.Equal(t, kkiapay.StatusSuccess, tx.Status)
	assert.Equal(t, "DEBIT", tx.Type)
	assert.Equal(t, kkiapay.MobileMoney, tx.Source)
	assert.Equal(t, "mtn-benin", tx.SourceCommonName)
	assert.Equal(t, "25350", tx.Amount.String())
	assert.Equal(t, "254", tx.Fees.String())
	assert.Equal(t, "25096", tx.Income.String())
	assert.Equal(t, "merchant", tx.FeeSupportedBy)
	assert.Equal(t, "Order 42", tx.Reason)
	assert.Nil(t, tx.State)
	assert.Equal(t, kkiapay.Customer{Fullname: "Anonymous customer", Phone: "2290167329510"}, tx.Client)
	// The trap: performed_at is the instant, performedAt the dd/mm/yyyy date.
	assert.True(t, time.Date(2026, 7, 13, 6, 34, 50, 276e6, time.UTC).Equal(tx.PerformedAt), "%v", tx.PerformedAt)
	assert.True(t, time.Date(2026, 7, 13, 0, 0, 0, 0, time.UTC).Equal(tx.PerformedOn), "%v", tx.PerformedOn)
	assert.JSONEq(t, statusAnswer, string(tx.Raw))

	calls := api.calls()
	require.Len(t, calls, 1)
	assert.Equal(t, http.MethodPost, calls[0].Method)
	assert.Equal(t, "/api/v1/transactions/status", calls[0].Path)
	assert.Equal(t, "application/json", calls[0].Header.Get("Content-Type"))
	assert.Equal(t, "6516521598463777", calls[0].ID)
	assertKeysSent(t, calls[0])
}

func TestClientStatusVariants(t *testing.T) {
	api := newFakeAPI(t)
	cl := api.client(t)
	tests := []struct {
		name    string
		changes map[string]any
		check   func(t *testing.T, tx kkiapay.Transaction)
	}{
		{"FAILED", map[string]any{"status": "FAILED", "failureCode": "insufficient_fund", "failureMessage": "Solde insuffisant"}, func(t *testing.T, tx kkiapay.Transaction) {
			assert.Equal(t, kkiapay.StatusFailed, tx.Status)
			assert.Equal(t, "insufficient_fund", tx.FailureCode)
			assert.Equal(t, "Solde insuffisant", tx.FailureMessage)
		}},
		{"PENDING", map[string]any{"status": "PENDING"}, func(t *testing.T, tx kkiapay.Transaction) {
			assert.Equal(t, kkiapay.StatusPending, tx.Status)
		}},
		{"REVERTED", map[string]any{"status": "REVERTED"}, func(t *testing.T, tx kkiapay.Transaction) {
			assert.Equal(t, kkiapay.StatusReverted, tx.Status)
		}},
		{"unknown status kept", map[string]any{"status": "ON_HOLD"}, func(t *testing.T, tx kkiapay.Transaction) {
			assert.Equal(t, kkiapay.Status("ON_HOLD"), tx.Status)
		}},
		{"state as an object", map[string]any{"state": map[string]any{"orderId": "ord_42"}}, func(t *testing.T, tx kkiapay.Transaction) {
			var v struct{ OrderID string }
			require.NoError(t, tx.DecodeState(&v))
			assert.Equal(t, "ord_42", v.OrderID)
		}},
		{"state as a JSON-encoded string", map[string]any{"state": `{"orderId":"ord_42"}`}, func(t *testing.T, tx kkiapay.Transaction) {
			assert.JSONEq(t, `{"orderId":"ord_42"}`, string(tx.State))
		}},
		{"amount as a decimal string", map[string]any{"amount": "25350.00"}, func(t *testing.T, tx kkiapay.Transaction) {
			assert.Equal(t, "25350.00", tx.Amount.String())
		}},
		{"customer as demandeur", map[string]any{"client": nil, "demandeur": map[string]string{"fullname": "Awa", "phone": "229", "email": "a@b.c"}},
			func(t *testing.T, tx kkiapay.Transaction) {
				assert.Equal(t, kkiapay.Customer{Fullname: "Awa", Phone: "229", Email: "a@b.c"}, tx.Client)
			}},
		{"descriptive fields of unexpected types are zero", map[string]any{"reason": map[string]string{"code": "x"}, "fees": "n/a", "performedAt": true}, func(t *testing.T, tx kkiapay.Transaction) {
			assert.Empty(t, tx.Reason)
			assert.True(t, tx.Fees.IsZero())
			assert.True(t, tx.PerformedOn.IsZero())
			assert.Equal(t, "25350", tx.Amount.String())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "tx_" + strings.ReplaceAll(tt.name, " ", "_")
			api.transaction(t, id, tt.changes)
			tx, err := cl.Status(context.Background(), id)
			require.NoError(t, err)
			assert.Equal(t, id, tx.TransactionID)
			tt.check(t, tx)
		})
	}
}

func TestClientErrors(t *testing.T) {
	api := newFakeAPI(t)
	cl := api.client(t)
	tests := []struct {
		name        string
		code        int
		body        string
		notFound    bool
		unavailable bool
		apiStatus   int    // an *APIError with this status, 0 for none
		message     string // its message
	}{
		{name: "404 with a JSON body", code: 404, body: `{"message":"Transaction not found"}`, notFound: true},
		{name: "404 with an empty body", code: 404, body: ``, notFound: true},
		{name: "200 TRANSACTION_NOT_FOUND", code: 200, body: `{"status":"TRANSACTION_NOT_FOUND"}`, notFound: true},
		{name: "400 TRANSACTION_NOT_FOUND", code: 400, body: `{"status":"TRANSACTION_NOT_FOUND","message":"invalid request"}`, notFound: true},
		{name: "422 transaction not found", code: 422, body: `{"error":"Unprocessable","reason":{"code":"x","message":"Transaction Not Found"}}`, notFound: true},

		{name: "404 route miss as HTML", code: 404, body: `<!DOCTYPE html><pre>Cannot POST /api/v1/transactions/status</pre>`, apiStatus: 404, message: "<!DOCTYPE html>"},
		{name: "404 route miss as JSON", code: 404, body: `{"statusCode":404,"message":"Cannot POST /api/v1/transactions/status","error":"Not Found"}`, apiStatus: 404, message: "Cannot POST"},
		{name: "401 never means not found", code: 401, body: `{"message":"account for transaction not found"}`, apiStatus: 401, message: "account for transaction not found"},
		{name: "400 other", code: 400, body: `{"message":"transactionId must be a string"}`, apiStatus: 400, message: "transactionId must be a string"},
		{name: "500 with a body", code: 500, body: `{"error":"Internal Server Error"}`, apiStatus: 500, message: "Internal Server Error", unavailable: true},
		{name: "502 HTML", code: 502, body: `<html><body>Bad Gateway</body></html>`, apiStatus: 502, message: "Bad Gateway", unavailable: true},
		{name: "429", code: 429, body: `{"message":"Too many requests"}`, apiStatus: 429, message: "Too many requests", unavailable: true},
		{name: "API message quoting a key is scrubbed", code: 403, body: `{"message":"key ` + privateKey + ` is revoked"}`, apiStatus: 403, message: "key REDACTED is revoked"},
		{name: "a key across the message's cut is scrubbed", code: 403, body: `{"message":"` + strings.Repeat("x", 192) + privateKey + `"}`, apiStatus: 403, message: "xxx"},

		{name: "200 not JSON", code: 200, body: `<html>maintenance</html>`, unavailable: true},
		{name: "200 JSON array", code: 200, body: `[]`, unavailable: true},
		{name: "200 without a status", code: 200, body: `{"amount":1000}`, unavailable: true},
		{name: "200 amount not a number", code: 200, body: `{"status":"SUCCESS","amount":"lots"}`, unavailable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "tx_" + strings.ReplaceAll(tt.name, " ", "_")
			api.answer(id, tt.code, tt.body)
			tx, err := cl.Status(context.Background(), id)
			require.Error(t, err)
			assert.Equal(t, kkiapay.Transaction{}, tx)
			assert.Equal(t, tt.notFound, errors.Is(err, kkiapay.ErrNotFound), "ErrNotFound: %v", err)
			assert.Equal(t, tt.unavailable, errors.Is(err, payhook.ErrUnavailable), "ErrUnavailable: %v", err)
			var ae *kkiapay.APIError
			if tt.apiStatus == 0 {
				assert.False(t, errors.As(err, &ae), "no APIError: %v", err)
			} else if assert.ErrorAs(t, err, &ae) {
				assert.Equal(t, tt.apiStatus, ae.StatusCode)
				assert.Contains(t, ae.Message, tt.message)
				assert.Contains(t, err.Error(), "kkiapay: API answered")
			}
			for _, k := range []string{publicKey, privateKey, secretKey} {
				assert.NotContains(t, err.Error(), k[:8], "not even part of a key")
			}
		})
	}
}

func TestClientWrongKeys(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("tx_1", http.StatusOK, statusAnswer)
	cl, err := kkiapay.NewClient(publicKey, privateKey, "wrong", kkiapay.WithBaseURL(api.URL()))
	require.NoError(t, err)
	_, err = cl.Status(context.Background(), "tx_1")
	var ae *kkiapay.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.StatusCode)
	assert.NotErrorIs(t, err, kkiapay.ErrNotFound)
	assert.NotErrorIs(t, err, payhook.ErrUnavailable)
}

func TestClientTrimsKeys(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("tx_1", http.StatusOK, statusAnswer)
	cl, err := kkiapay.NewClient(publicKey+"\n", " "+privateKey, secretKey+"\r\n", kkiapay.WithBaseURL(api.URL()))
	require.NoError(t, err)
	_, err = cl.Status(context.Background(), "tx_1")
	require.NoError(t, err, "keys read from files with their newline still work")
	assertKeysSent(t, api.calls()[0])
}

func TestClientUnavailable(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("tx_1", http.StatusOK, statusAnswer)
	closed := newFakeAPI(t)
	closed.Close()

	tests := []struct {
		name   string
		client func(t *testing.T) *kkiapay.Client
		ctx    func() (context.Context, context.CancelFunc)
		also   error
	}{
		{"slow answer, client timeout", func(t *testing.T) *kkiapay.Client {
			return api.client(t, kkiapay.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
		}, nil, nil},
		{"slow answer, context deadline", func(t *testing.T) *kkiapay.Client { return api.client(t) }, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
		{"context canceled", func(t *testing.T) *kkiapay.Client { return api.client(t) }, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"connection refused", func(t *testing.T) *kkiapay.Client { return closed.client(t) }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api.hold("tx_1")
			defer api.transaction(t, "tx_1", nil)
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, err := tt.client(t).Status(ctx, "tx_1")
			require.ErrorIs(t, err, payhook.ErrUnavailable)
			if tt.also != nil {
				assert.ErrorIs(t, err, tt.also)
			}
			assert.Contains(t, err.Error(), "kkiapay")
			for _, k := range []string{publicKey, privateKey, secretKey} {
				assert.NotContains(t, err.Error(), k)
			}
		})
	}

	// Once the API answers again, so does the client.
	tx, err := api.client(t).Status(context.Background(), "tx_1")
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusSuccess, tx.Status)
}

func TestClientRevert(t *testing.T) {
	api := newFakeAPI(t)
	cl := api.client(t)
	api.transaction(t, "tx_1", map[string]any{"status": "REVERTED"})
	api.answer("tx_shapeless", http.StatusOK, `{"ok":true}`)

	tx, err := cl.Revert(context.Background(), "tx_1")
	require.NoError(t, err)
	assert.Equal(t, kkiapay.StatusReverted, tx.Status)
	calls := api.calls()
	require.Len(t, calls, 1)
	assert.Equal(t, "/api/v1/transactions/revert", calls[0].Path)
	assert.Equal(t, http.MethodPost, calls[0].Method)
	assert.Equal(t, "tx_1", calls[0].ID)
	assertKeysSent(t, calls[0])

	tx, err = cl.Revert(context.Background(), "tx_shapeless")
	require.NoError(t, err, "an answer of another shape is still a 2xx")
	assert.JSONEq(t, `{"ok":true}`, string(tx.Raw))
	assert.Empty(t, tx.Status)

	_, err = cl.Revert(context.Background(), "tx_unknown")
	assert.ErrorIs(t, err, kkiapay.ErrNotFound)
}

func TestClientRefusesEmptyID(t *testing.T) {
	api := newFakeAPI(t)
	cl := api.client(t)
	for _, id := range []string{"", "  "} {
		_, err := cl.Status(context.Background(), id)
		assert.ErrorContains(t, err, "empty transaction id")
		_, err = cl.Revert(context.Background(), id)
		assert.ErrorContains(t, err, "empty transaction id")
	}
	assert.Empty(t, api.calls(), "no request is sent")
}

// recordingTransport answers every request itself, recording its URL, so
// that the live and sandbox bases can be checked without calling them.
type recordingTransport struct{ urls []string }

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.urls = append(rt.urls, r.URL.String())
	return &http.Response{StatusCode: 200, Header: http.Header{}, Request: r,
		Body: io.NopCloser(strings.NewReader(`{"status":"SUCCESS","amount":1}`))}, nil
}

func TestClientBaseURLs(t *testing.T) {
	tests := []struct {
		name string
		opts []kkiapay.ClientOption
		want string
	}{
		{"live by default", nil, "https://api.kkiapay.me/api/v1/transactions/status"},
		{"sandbox", []kkiapay.ClientOption{kkiapay.WithSandbox()}, "https://api-sandbox.kkiapay.me/api/v1/transactions/status"},
		{"base URL", []kkiapay.ClientOption{kkiapay.WithBaseURL("http://127.0.0.1:9/kk/")}, "http://127.0.0.1:9/kk/api/v1/transactions/status"},
		{"base URL wins over sandbox", []kkiapay.ClientOption{kkiapay.WithBaseURL("https://proxy.example"), kkiapay.WithSandbox()}, "https://proxy.example/api/v1/transactions/status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &recordingTransport{}
			cl, err := kkiapay.NewClient(publicKey, privateKey, secretKey, append(tt.opts, kkiapay.WithHTTPClient(&http.Client{Transport: rt}))...)
			require.NoError(t, err)
			_, err = cl.Status(context.Background(), "tx_1")
			require.NoError(t, err)
			assert.Equal(t, []string{tt.want}, rt.urls)
		})
	}
}

func TestNewClientRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name          string
		pub, priv, sk string
		opts          []kkiapay.ClientOption
		want          string
	}{
		{"no public key", "", privateKey, secretKey, nil, "empty public key"},
		{"no private key", publicKey, " ", secretKey, nil, "empty private key"},
		{"no secret key", publicKey, privateKey, "", nil, "empty secret key"},
		{"empty base URL", publicKey, privateKey, secretKey, []kkiapay.ClientOption{kkiapay.WithBaseURL("")}, "absolute http(s) URL"},
		{"relative base URL", publicKey, privateKey, secretKey, []kkiapay.ClientOption{kkiapay.WithBaseURL("/api")}, "absolute http(s) URL"},
		{"other scheme", publicKey, privateKey, secretKey, []kkiapay.ClientOption{kkiapay.WithBaseURL("ftp://api.kkiapay.me")}, "absolute http(s) URL"},
		{"unparsable base URL", publicKey, privateKey, secretKey, []kkiapay.ClientOption{kkiapay.WithBaseURL("http://[::1")}, "absolute http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl, err := kkiapay.NewClient(tt.pub, tt.priv, tt.sk, tt.opts...)
			require.ErrorIs(t, err, payhook.ErrConfig)
			assert.Contains(t, err.Error(), tt.want)
			assert.Nil(t, cl)
		})
	}
}

// FuzzClientAnswer feeds the client's decoder every answer the API could
// give, through a transport that returns it.
func FuzzClientAnswer(f *testing.F) {
	f.Add(200, []byte(statusAnswer))
	f.Add(200, []byte(`{"status":"TRANSACTION_NOT_FOUND"}`))
	f.Add(404, []byte(`{"message":"Transaction not found"}`))
	f.Add(400, []byte(`{"reason":{"message":"transaction not_found"}}`))
	f.Add(502, []byte(`<html>Bad Gateway</html>`))
	f.Add(200, []byte(`{"status":"SUCCESS","state":"{\"a\":1}","performed_at":"2026-07-13T06:34:50.276Z","performedAt":"13/07/2026"}`))
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		if code < 200 || code > 599 {
			return
		}
		cl, err := kkiapay.NewClient(publicKey, privateKey, secretKey, kkiapay.WithHTTPClient(&http.Client{Transport: fixedAnswer{code, body}}))
		require.NoError(t, err)
		tx, err := cl.Status(context.Background(), "tx_1")
		if err != nil {
			assert.Equal(t, kkiapay.Transaction{}, tx)
			assert.Contains(t, err.Error(), "kkiapay")
			var ae *kkiapay.APIError
			if !errors.Is(err, kkiapay.ErrNotFound) && !errors.Is(err, payhook.ErrUnavailable) && !errors.As(err, &ae) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		require.True(t, code < 300, "a success from a %d answer", code)
		require.NotEmpty(t, tx.Status)
		if tx.State != nil {
			require.True(t, json.Valid(tx.State), "%q", tx.State)
		}
	})
}

type fixedAnswer struct {
	code int
	body []byte
}

func (a fixedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.code, Header: http.Header{}, Request: r,
		Body: io.NopCloser(strings.NewReader(string(a.body)))}, nil
}

// TestNewClientHidesBaseURLPassword: a base URL refused for its form
// (a proxy's, with a password) is not repeated with the password.
func TestNewClientHidesBaseURLPassword(t *testing.T) {
	for _, u := range []string{"htps://proxy:hunter2@proxy.example", "proxy:hunter2@proxy.example", "https://proxy:hunter2@[::1"} {
		t.Run(u, func(t *testing.T) {
			_, err := kkiapay.NewClient(publicKey, privateKey, secretKey, kkiapay.WithBaseURL(u))
			require.ErrorIs(t, err, payhook.ErrConfig)
			assert.Contains(t, err.Error(), "absolute http(s) URL")
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestStatusBodyIsWhatTheClientReads(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	want := kkiapay.Transaction{
		TransactionID: "tx_body", Status: kkiapay.StatusSuccess, Type: "DEBIT", Source: kkiapay.MobileMoney,
		SourceCommonName: "mtn-benin", Amount: payhook.MustAmount("1000.50"), Fees: payhook.MustAmount("5"),
		Income: payhook.MustAmount("995.5"), FeeSupportedBy: "merchant", Reason: "order 7",
		PartnerID: "ord_7", State: json.RawMessage(`{"cart":"c1"}`), PerformedAt: at,
		PerformedOn: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC),
		Client:      kkiapay.Customer{Fullname: "Ada", Phone: "22997000000", Email: "ada@example.com"},
	}
	body, err := kkiapay.StatusBody(want)
	require.NoError(t, err)
	assert.Contains(t, string(body), `"amount":1000.50`, "amounts are JSON numbers, as received")
	assert.Contains(t, string(body), `"performed_at":"2026-03-04T05:06:07.890Z"`)
	assert.Contains(t, string(body), `"performedAt":"04/03/2026"`)

	api := newFakeAPI(t)
	api.answer("tx_body", http.StatusOK, string(body))
	got, err := api.client(t).Status(context.Background(), "tx_body")
	require.NoError(t, err)
	got.Raw = nil
	assert.Equal(t, want, got)

	zero, err := kkiapay.StatusBody(kkiapay.Transaction{TransactionID: "tx_zero"})
	require.NoError(t, err)
	assert.Contains(t, string(zero), `"fees":0`)
	assert.Contains(t, string(zero), `"state":null`)
	assert.NotContains(t, string(zero), `"amount"`)

	_, err = kkiapay.StatusBody(kkiapay.Transaction{State: json.RawMessage(`{`)})
	assert.Error(t, err, "a State that is not JSON")
}
