package kazawallet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kazawallet/kazawallettest"
)

// clientKey is the key the fake API accepts.
const clientKey = kazawallettest.APIKey

var linkRequestSeed = kazawallet.PaymentLinkRequest{
	Amount:      payhook.MustAmount("10.00"),
	Currency:    "USD",
	Email:       "payer@example.com",
	Ref:         "your-unique-ref",
	RedirectURL: "https://shop.example/return?kazawallet=success",
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name string
		key  string
		opts []kazawallet.ClientOption
		ok   bool
	}{
		{"defaults", clientKey, nil, true},
		{"other base", clientKey, []kazawallet.ClientOption{kazawallet.WithBaseURL("http://127.0.0.1:8080/wallet"), kazawallet.WithHTTPClient(&http.Client{})}, true},
		{"nil HTTP client", clientKey, []kazawallet.ClientOption{kazawallet.WithHTTPClient(nil)}, false},
		{"no timeout", clientKey, []kazawallet.ClientOption{kazawallet.WithTimeout(0)}, false},
		{"negative timeout", clientKey, []kazawallet.ClientOption{kazawallet.WithTimeout(-time.Second)}, false},
		{"empty key", "", nil, false},
		{"blank key", "  ", nil, false},
		{"base without scheme", clientKey, []kazawallet.ClientOption{kazawallet.WithBaseURL("outdoor.kasroad.com/wallet")}, false},
		{"empty base", clientKey, []kazawallet.ClientOption{kazawallet.WithBaseURL("")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := kazawallet.NewClient(tt.key, tt.opts...)
			if tt.ok {
				require.NoError(t, err)
				assert.NotNil(t, c)
				return
			}
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, c)
		})
	}
	c, err := kazawallet.NewClient(clientKey)
	require.NoError(t, err)
	assert.Contains(t, c.String(), kazawallet.DefaultBaseURL)
}

func TestCreatePaymentLinkRequest(t *testing.T) {
	api := kazawallettest.NewAPI(t)
	api.SetDefault(payhooktest.Respond(http.StatusOK, `{"url":"https://kazawallet.com/pay/abc"}`))
	c := api.Client()
	tests := []struct {
		name string
		req  kazawallet.PaymentLinkRequest
		want string
	}{
		{"every field", linkRequestSeed, `{"amount":"10.00","currency":"USD","email":"payer@example.com","ref":"your-unique-ref",` +
			`"redirectUrl":"https://shop.example/return?kazawallet=success"}`},
		{"amount text kept", kazawallet.PaymentLinkRequest{Amount: payhook.MustAmount("10.5"), Currency: "SYP"}, `{"amount":"10.5","currency":"SYP"}`},
		{"amount from a JSON number", kazawallet.PaymentLinkRequest{Amount: amountFromJSON(t, `12.340`), Currency: "USD", Ref: "42"},
			`{"amount":"12.340","currency":"USD","ref":"42"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreatePaymentLink(context.Background(), tt.req)
			require.NoError(t, err)
			calls := api.Calls()
			got := calls[len(calls)-1]
			raw := got.Body
			assert.Equal(t, http.MethodPost, got.Method)
			assert.Equal(t, "/wallet/createPaymentLink", got.Path)
			assert.Equal(t, clientKey, got.Header.Get("x-api-key"))
			assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
			assert.JSONEq(t, tt.want, string(raw))
			var fields map[string]any
			require.NoError(t, json.Unmarshal(raw, &fields))
			for k, v := range fields {
				assert.IsType(t, "", v, "%s is sent as a JSON string", k)
			}
		})
	}
}

func amountFromJSON(t *testing.T, s string) payhook.Amount {
	t.Helper()
	var a payhook.Amount
	require.NoError(t, json.Unmarshal([]byte(s), &a))
	return a
}

func TestCreatePaymentLinkRefusesBadRequests(t *testing.T) {
	api := kazawallettest.NewAPI(t)
	api.SetDefault(payhooktest.Respond(http.StatusOK, `{"url":"https://kazawallet.com/pay/abc"}`))
	c := api.Client()
	for name, req := range map[string]kazawallet.PaymentLinkRequest{
		"no amount":       {Currency: "USD"},
		"zero amount":     {Amount: payhook.MustAmount("0.00"), Currency: "USD"},
		"negative amount": {Amount: payhook.MustAmount("-1"), Currency: "USD"},
		"no currency":     {Amount: payhook.MustAmount("1")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.CreatePaymentLink(context.Background(), req)
			assert.Error(t, err)
		})
	}
	assert.Empty(t, api.Calls(), "nothing was sent")
}

func TestCreatePaymentLinkAnswers(t *testing.T) {
	const link = "https://outdoor.kasroad.com/wallet/pay/abc123"
	tests := []struct {
		name    string
		status  int
		body    string
		want    kazawallet.PaymentLink
		wantErr *kazawallet.APIError
		unavail bool // the error wraps payhook.ErrUnavailable
	}{
		{"url and order_id", 200, `{"url":"` + link + `","order_id":"ord_123"}`, kazawallet.PaymentLink{link, "ord_123"}, nil, false},
		{"paymentLink and numeric id", 200, `{"paymentLink":"` + link + `","id":123}`, kazawallet.PaymentLink{link, "123"}, nil, false},
		{"url only", 200, `{"url":"` + link + `"}`, kazawallet.PaymentLink{link, ""}, nil, false},
		{"under data", 200, `{"success":true,"data":{"url":"` + link + `","order_id":"ord_9"}}`, kazawallet.PaymentLink{link, "ord_9"}, nil, false},
		{"paymentLink under data", 200, `{"data":{"paymentLink":"` + link + `","id":"77"}}`, kazawallet.PaymentLink{link, "77"}, nil, false},
		{"data is the link", 200, `{"success":true,"data":"` + link + `"}`, kazawallet.PaymentLink{link, ""}, nil, false},
		{"url preferred to paymentLink", 200, `{"paymentLink":"https://other.example/x","url":"` + link + `"}`, kazawallet.PaymentLink{link, ""}, nil, false},
		{"201", 201, `{"url":"` + link + `","id":"1"}`, kazawallet.PaymentLink{link, "1"}, nil, false},
		{"error null", 200, `{"url":"` + link + `","error":null,"message":"created"}`, kazawallet.PaymentLink{link, ""}, nil, false},
		{"user not found", 404, `{"error":{"message":"User not found","details":{"key":"USER_NOT_FOUND"}}}`, kazawallet.PaymentLink{},
			&kazawallet.APIError{404, "User not found", "USER_NOT_FOUND"}, false},
		{"blocked", 403, `{"error":{"message":"User is blocked","details":{"key":"USER_IS_BLOCK_DU_TO_CHANGING_THE_IP"}}}`, kazawallet.PaymentLink{},
			&kazawallet.APIError{403, "User is blocked", "USER_IS_BLOCK_DU_TO_CHANGING_THE_IP"}, false},
		{"success false on 200", 200, `{"success":false,"error":"Invalid amount"}`, kazawallet.PaymentLink{}, &kazawallet.APIError{200, "Invalid amount", ""}, false},
		{"success false on 400", 400, `{"success":false,"error":"Invalid amount"}`, kazawallet.PaymentLink{}, &kazawallet.APIError{400, "Invalid amount", ""}, false},
		{"message only", 401, `{"message":"Unauthorized"}`, kazawallet.PaymentLink{}, &kazawallet.APIError{401, "Unauthorized", ""}, false},
		{"error on 200 with a link", 200, `{"url":"` + link + `","error":{"message":"quota"}}`, kazawallet.PaymentLink{}, &kazawallet.APIError{200, "quota", ""}, false},
		{"empty 400", 400, ``, kazawallet.PaymentLink{}, &kazawallet.APIError{400, "Bad Request", ""}, false},
		{"plain-text 500", 500, "Internal Server Error\n", kazawallet.PaymentLink{}, &kazawallet.APIError{500, "Internal Server Error", ""}, true},
		{"HTML 502", 502, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>", kazawallet.PaymentLink{},
			&kazawallet.APIError{502, "<html> <head><title>502 Bad Gateway</title></head> <body>nginx</body> </html>", ""}, true},
		{"429", 429, `{"error":{"message":"Too many requests"}}`, kazawallet.PaymentLink{}, &kazawallet.APIError{429, "Too many requests", ""}, true},
		{"2xx without a link", 200, `{"success":true}`, kazawallet.PaymentLink{}, &kazawallet.APIError{Status: 200}, false},
		{"empty link", 200, `{"url":"","paymentLink":null}`, kazawallet.PaymentLink{}, &kazawallet.APIError{Status: 200}, false},
		{"link not http", 200, `{"url":"javascript:alert(1)"}`, kazawallet.PaymentLink{}, &kazawallet.APIError{Status: 200}, false},
		{"link an object", 200, `{"url":{"href":"` + link + `"}}`, kazawallet.PaymentLink{}, &kazawallet.APIError{Status: 200}, false},
		{"200 not JSON", 200, `OK`, kazawallet.PaymentLink{}, &kazawallet.APIError{200, "OK", ""}, false},
		{"200 empty", 200, ``, kazawallet.PaymentLink{}, &kazawallet.APIError{200, "OK", ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := kazawallettest.NewAPI(t)
			api.SetDefault(payhooktest.Respond(tt.status, tt.body))
			got, err := api.Client().CreatePaymentLink(context.Background(), linkRequestSeed)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			assert.Zero(t, got)
			var apiErr *kazawallet.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.wantErr.Status, apiErr.Status)
			if tt.wantErr.Message != "" {
				assert.Equal(t, tt.wantErr.Message, apiErr.Message)
			} else {
				assert.NotEmpty(t, apiErr.Message)
			}
			assert.Equal(t, tt.wantErr.Key, apiErr.Key)
			assert.Equal(t, tt.unavail, errors.Is(err, payhook.ErrUnavailable))
			assert.NotContains(t, err.Error(), clientKey)
		})
	}
}

func TestAPIErrorText(t *testing.T) {
	assert.Equal(t, "kazawallet: API answered 404: User not found (USER_NOT_FOUND)",
		(&kazawallet.APIError{404, "User not found", "USER_NOT_FOUND"}).Error())
	assert.Equal(t, "kazawallet: API answered 400: Invalid amount", (&kazawallet.APIError{400, "Invalid amount", ""}).Error())
}

func TestCreatePaymentLinkTimeouts(t *testing.T) {
	api := kazawallettest.NewAPI(t)
	api.SetDefault(payhooktest.Slow(time.Hour, payhooktest.Answer{}))

	tests := []struct {
		name string
		opts []kazawallet.ClientOption
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"http.Client timeout", []kazawallet.ClientOption{kazawallet.WithHTTPClient(&http.Client{Timeout: 20 * time.Millisecond})}, nil},
		{"client timeout", []kazawallet.ClientOption{kazawallet.WithTimeout(20 * time.Millisecond)}, nil},
		{"caller's deadline", nil, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 20*time.Millisecond)
		}},
		{"caller cancels", nil, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			_, err := api.Client(tt.opts...).CreatePaymentLink(ctx, linkRequestSeed)
			assert.ErrorIs(t, err, payhook.ErrUnavailable)
			var apiErr *kazawallet.APIError
			assert.False(t, errors.As(err, &apiErr), "no answer, so no kazawallet.APIError")
			assert.NotContains(t, err.Error(), clientKey)
		})
	}
}

func TestCreatePaymentLinkUnreachable(t *testing.T) {
	api := kazawallettest.NewAPI(t)
	cl := api.Client()
	api.Close()
	_, err := cl.CreatePaymentLink(context.Background(), linkRequestSeed)
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.NotContains(t, err.Error(), clientKey)
}

func TestClientKeyNeverPrinted(t *testing.T) {
	c, err := kazawallet.NewClient(clientKey)
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("c", "client", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.String(), logs.String()} {
		assert.NotContains(t, out, clientKey)
		assert.Contains(t, out, "REDACTED")
	}
}

// TestCreatePaymentLinkErrorsHideKey: an API that echoes the key it was
// given in its error does not put the key in the error, whole or cut.
func TestCreatePaymentLinkErrorsHideKey(t *testing.T) {
	pad := func(n int) string { return strings.Repeat("x", n) } // puts the key across an excerpt's cut
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"nested message", 401, `{"error":{"message":"Invalid API key ` + clientKey + `","details":{"key":"INVALID_KEY"}}}`},
		{"flat error", 400, `{"success":false,"error":"no merchant for ` + clientKey + `"}`},
		{"key as error key", 403, `{"error":{"message":"forbidden","details":{"key":"` + clientKey + `"}}}`},
		{"text across the cut", 502, pad(180) + " key " + clientKey},
		{"2xx without a link", 200, `{"echo":"` + pad(96) + clientKey + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := kazawallettest.NewAPI(t)
			api.SetDefault(payhooktest.Respond(tt.status, tt.body))
			_, err := api.Client().CreatePaymentLink(context.Background(), linkRequestSeed)
			var apiErr *kazawallet.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.NotContains(t, err.Error(), clientKey[:12])
			assert.NotContains(t, apiErr.Message+apiErr.Key, clientKey[:12])
		})
	}
}

// TestNewClientHidesBaseURLPassword: a base URL refused for its form
// (a proxy's, with a password) is not repeated with the password.
func TestNewClientHidesBaseURLPassword(t *testing.T) {
	for _, u := range []string{"htps://proxy:hunter2@proxy.example/wallet", "proxy:hunter2@proxy.example", "https://proxy:hunter2@[::1/wallet"} {
		t.Run(u, func(t *testing.T) {
			_, err := kazawallet.NewClient(clientKey, kazawallet.WithBaseURL(u))
			require.ErrorIs(t, err, payhook.ErrConfig)
			assert.Contains(t, err.Error(), "base URL")
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

// TestClientBaseURLPasswordNeverPrinted: a proxy's password in the base URL
// is redacted wherever the client is printed or logged.
func TestClientBaseURLPasswordNeverPrinted(t *testing.T) {
	c, err := kazawallet.NewClient(clientKey, kazawallet.WithBaseURL("https://proxy:hunter2@proxy.example/wallet"))
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("c", "client", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%#v", c), c.String(), logs.String()} {
		assert.NotContains(t, out, "hunter2")
		assert.Contains(t, out, "proxy.example")
	}
}
