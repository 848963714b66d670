package kazawallet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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
)

const clientKey = "kw_live_api_key_0123456789"

// fakeKazawallet plays Kazawallet's API under /wallet: createPaymentLink
// answers status and body, and records the request.
type fakeKazawallet struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	body   string
	hang   chan struct{} // when not nil, the answer waits for it or the client
	got    *http.Request
	gotRaw []byte
	calls  int
}

func newFakeKazawallet(t *testing.T, status int, body string) *fakeKazawallet {
	t.Helper()
	f := &fakeKazawallet{status: status, body: body}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.got, f.gotRaw, f.calls = r.Clone(context.Background()), raw, f.calls+1
		status, body, hang := f.status, f.body, f.hang
		f.mu.Unlock()
		if r.URL.Path != "/wallet/createPaymentLink" {
			http.NotFound(w, r)
			return
		}
		if hang != nil {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeKazawallet) client(t *testing.T, opts ...Option) *Client {
	t.Helper()
	c, err := NewClient(clientKey, append([]Option{WithBaseURL(f.URL + "/wallet")}, opts...)...)
	require.NoError(t, err)
	return c
}

var linkRequestSeed = PaymentLinkRequest{
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
		opts []Option
		ok   bool
	}{
		{"defaults", clientKey, nil, true},
		{"other base", clientKey, []Option{WithBaseURL("http://127.0.0.1:8080/wallet"), WithHTTPClient(nil)}, true},
		{"empty key", "", nil, false},
		{"blank key", "  ", nil, false},
		{"base without scheme", clientKey, []Option{WithBaseURL("outdoor.kasroad.com/wallet")}, false},
		{"empty base", clientKey, []Option{WithBaseURL("")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.key, tt.opts...)
			if tt.ok {
				require.NoError(t, err)
				assert.NotNil(t, c)
				return
			}
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, c)
		})
	}
	c, err := NewClient(clientKey)
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseURL, c.api.Base())
}

func TestCreatePaymentLinkRequest(t *testing.T) {
	f := newFakeKazawallet(t, http.StatusOK, `{"url":"https://kazawallet.com/pay/abc"}`)
	c := f.client(t)
	tests := []struct {
		name string
		req  PaymentLinkRequest
		want string
	}{
		{"every field", linkRequestSeed, `{"amount":"10.00","currency":"USD","email":"payer@example.com","ref":"your-unique-ref",` +
			`"redirectUrl":"https://shop.example/return?kazawallet=success"}`},
		{"amount text kept", PaymentLinkRequest{Amount: payhook.MustAmount("10.5"), Currency: "SYP"}, `{"amount":"10.5","currency":"SYP"}`},
		{"amount from a JSON number", PaymentLinkRequest{Amount: amountFromJSON(t, `12.340`), Currency: "USD", Ref: "42"},
			`{"amount":"12.340","currency":"USD","ref":"42"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreatePaymentLink(context.Background(), tt.req)
			require.NoError(t, err)
			f.mu.Lock()
			got, raw := f.got, f.gotRaw
			f.mu.Unlock()
			assert.Equal(t, http.MethodPost, got.Method)
			assert.Equal(t, "/wallet/createPaymentLink", got.URL.Path)
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
	f := newFakeKazawallet(t, http.StatusOK, `{"url":"https://kazawallet.com/pay/abc"}`)
	c := f.client(t)
	for name, req := range map[string]PaymentLinkRequest{
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
	assert.Zero(t, f.calls, "nothing was sent")
}

func TestCreatePaymentLinkAnswers(t *testing.T) {
	const link = "https://outdoor.kasroad.com/wallet/pay/abc123"
	tests := []struct {
		name    string
		status  int
		body    string
		want    PaymentLink
		wantErr *APIError
		unavail bool // the error wraps payhook.ErrUnavailable
	}{
		{"url and order_id", 200, `{"url":"` + link + `","order_id":"ord_123"}`, PaymentLink{link, "ord_123"}, nil, false},
		{"paymentLink and numeric id", 200, `{"paymentLink":"` + link + `","id":123}`, PaymentLink{link, "123"}, nil, false},
		{"url only", 200, `{"url":"` + link + `"}`, PaymentLink{link, ""}, nil, false},
		{"under data", 200, `{"success":true,"data":{"url":"` + link + `","order_id":"ord_9"}}`, PaymentLink{link, "ord_9"}, nil, false},
		{"paymentLink under data", 200, `{"data":{"paymentLink":"` + link + `","id":"77"}}`, PaymentLink{link, "77"}, nil, false},
		{"data is the link", 200, `{"success":true,"data":"` + link + `"}`, PaymentLink{link, ""}, nil, false},
		{"url preferred to paymentLink", 200, `{"paymentLink":"https://other.example/x","url":"` + link + `"}`, PaymentLink{link, ""}, nil, false},
		{"201", 201, `{"url":"` + link + `","id":"1"}`, PaymentLink{link, "1"}, nil, false},
		{"error null", 200, `{"url":"` + link + `","error":null,"message":"created"}`, PaymentLink{link, ""}, nil, false},
		{"user not found", 404, `{"error":{"message":"User not found","details":{"key":"USER_NOT_FOUND"}}}`, PaymentLink{},
			&APIError{404, "User not found", "USER_NOT_FOUND"}, false},
		{"blocked", 403, `{"error":{"message":"User is blocked","details":{"key":"USER_IS_BLOCK_DU_TO_CHANGING_THE_IP"}}}`, PaymentLink{},
			&APIError{403, "User is blocked", "USER_IS_BLOCK_DU_TO_CHANGING_THE_IP"}, false},
		{"success false on 200", 200, `{"success":false,"error":"Invalid amount"}`, PaymentLink{}, &APIError{200, "Invalid amount", ""}, false},
		{"success false on 400", 400, `{"success":false,"error":"Invalid amount"}`, PaymentLink{}, &APIError{400, "Invalid amount", ""}, false},
		{"message only", 401, `{"message":"Unauthorized"}`, PaymentLink{}, &APIError{401, "Unauthorized", ""}, false},
		{"error on 200 with a link", 200, `{"url":"` + link + `","error":{"message":"quota"}}`, PaymentLink{}, &APIError{200, "quota", ""}, false},
		{"empty 400", 400, ``, PaymentLink{}, &APIError{400, "Bad Request", ""}, false},
		{"plain-text 500", 500, "Internal Server Error\n", PaymentLink{}, &APIError{500, "Internal Server Error", ""}, true},
		{"HTML 502", 502, "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>", PaymentLink{},
			&APIError{502, "<html> <head><title>502 Bad Gateway</title></head> <body>nginx</body> </html>", ""}, true},
		{"429", 429, `{"error":{"message":"Too many requests"}}`, PaymentLink{}, &APIError{429, "Too many requests", ""}, true},
		{"2xx without a link", 200, `{"success":true}`, PaymentLink{}, &APIError{Status: 200}, false},
		{"empty link", 200, `{"url":"","paymentLink":null}`, PaymentLink{}, &APIError{Status: 200}, false},
		{"link not http", 200, `{"url":"javascript:alert(1)"}`, PaymentLink{}, &APIError{Status: 200}, false},
		{"link an object", 200, `{"url":{"href":"` + link + `"}}`, PaymentLink{}, &APIError{Status: 200}, false},
		{"200 not JSON", 200, `OK`, PaymentLink{}, &APIError{200, "OK", ""}, false},
		{"200 empty", 200, ``, PaymentLink{}, &APIError{200, "OK", ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeKazawallet(t, tt.status, tt.body)
			got, err := f.client(t).CreatePaymentLink(context.Background(), linkRequestSeed)
			if tt.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				return
			}
			assert.Zero(t, got)
			var apiErr *APIError
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
		(&APIError{404, "User not found", "USER_NOT_FOUND"}).Error())
	assert.Equal(t, "kazawallet: API answered 400: Invalid amount", (&APIError{400, "Invalid amount", ""}).Error())
}

func TestCreatePaymentLinkTimeouts(t *testing.T) {
	f := newFakeKazawallet(t, 200, `{"url":"https://kazawallet.com/pay/abc"}`)
	hang := make(chan struct{})
	defer close(hang)
	f.mu.Lock()
	f.hang = hang
	f.mu.Unlock()

	tests := []struct {
		name string
		opts []Option
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"http.Client timeout", []Option{WithHTTPClient(&http.Client{Timeout: 20 * time.Millisecond})}, nil},
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
			_, err := f.client(t, tt.opts...).CreatePaymentLink(ctx, linkRequestSeed)
			assert.ErrorIs(t, err, payhook.ErrUnavailable)
			var apiErr *APIError
			assert.False(t, errors.As(err, &apiErr), "no answer, so no APIError")
			assert.NotContains(t, err.Error(), clientKey)
		})
	}
}

func TestCreatePaymentLinkUnreachable(t *testing.T) {
	f := newFakeKazawallet(t, 200, `{}`)
	f.Close()
	_, err := f.client(t).CreatePaymentLink(context.Background(), linkRequestSeed)
	assert.ErrorIs(t, err, payhook.ErrUnavailable)
	assert.NotContains(t, err.Error(), clientKey)
}

func TestClientKeyNeverPrinted(t *testing.T) {
	c, err := NewClient(clientKey)
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("c", "client", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.String(), logs.String()} {
		assert.NotContains(t, out, clientKey)
		assert.Contains(t, out, "REDACTED")
	}
}

// FuzzDecodeLink checks that no answer panics the decoder, and that a link
// it returns is an absolute http(s) URL.
func FuzzDecodeLink(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://k.example/p","order_id":"1"}`, `{"data":{"paymentLink":"https://k.example/p","id":2}}`,
		`{"error":{"message":"m","details":{"key":"K"}}}`, `{"success":false,"error":"e"}`, `<html>`, ``, `{"data":"x"}`,
	} {
		f.Add(200, []byte(s))
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		l, err := decodeLink(status, body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		u, perr := url.Parse(l.URL)
		if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || status < 200 || status > 299 {
			t.Fatalf("accepted link %q from %d", l.URL, status)
		}
		if strings.ContainsAny(l.OrderID, "{[") && !json.Valid(body) {
			t.Fatalf("order id %q from a body that is not JSON", l.OrderID)
		}
	})
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
			f := newFakeKazawallet(t, tt.status, tt.body)
			_, err := f.client(t).CreatePaymentLink(context.Background(), linkRequestSeed)
			var apiErr *APIError
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
			_, err := NewClient(clientKey, WithBaseURL(u))
			require.ErrorIs(t, err, payhook.ErrConfig)
			assert.Contains(t, err.Error(), "base URL")
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

// TestClientBaseURLPasswordNeverPrinted: a proxy's password in the base URL
// is redacted wherever the client is printed or logged.
func TestClientBaseURLPasswordNeverPrinted(t *testing.T) {
	c, err := NewClient(clientKey, WithBaseURL("https://proxy:hunter2@proxy.example/wallet"))
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("c", "client", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%#v", c), c.String(), logs.String()} {
		assert.NotContains(t, out, "hunter2")
		assert.Contains(t, out, "proxy.example")
	}
}
