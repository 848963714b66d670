package kazawallet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apiclient"
	"github.com/payhook/payhook/internal/secret"
)

// Client calls Kazawallet's merchant API with an API key. Make one with
// [NewClient]; it is safe for concurrent use, and logs and prints with its
// key redacted.
type Client struct {
	api  *apiclient.Client
	key  secret.Value // to cut out of the API's answers before they go into errors
	base string       // the base URL without a password, for printing
}

// NewClient returns a Client authenticating with apiKey, the key shown in
// Kazawallet's merchant settings. An empty key, or a base URL that is not
// http(s), is an error wrapping payhook.ErrConfig.
func NewClient(apiKey string, opts ...ClientOption) (*Client, error) {
	c := newClientConfig(opts)
	if err := c.refused.Err(Name, payhook.ErrConfig); err != nil {
		return nil, err
	}
	if strings.TrimSpace(apiKey) == "" {
		return nil, fmt.Errorf("kazawallet: %w: empty API key", payhook.ErrConfig)
	}
	if err := apiclient.CheckBase(c.baseURL); err != nil {
		return nil, fmt.Errorf("kazawallet: %w: %w", payhook.ErrConfig, err)
	}
	api := apiclient.New(c.baseURL, c.http, map[string]string{"X-Api-Key": apiKey}, c.timeout)
	return &Client{api: api, key: secret.New(apiKey), base: api.Redacted()}, nil
}

// PaymentLinkRequest is what [Client.CreatePaymentLink] asks for.
type PaymentLinkRequest struct {
	// Amount is the amount to pay, sent exactly as its text ("10.00"). It
	// must be above zero.
	Amount payhook.Amount
	// Currency is the currency code, such as "USD". Required.
	Currency string
	// Email is the merchant account's email, as Kazawallet's example sends
	// it. Left out when "".
	Email string
	// Ref is your reference, echoed in the webhook's ref (a user or order
	// id). Left out when "".
	Ref string
	// RedirectURL is where the payer returns after paying. Left out when "".
	RedirectURL string
}

// PaymentLink is a created payment link.
type PaymentLink struct {
	// URL is the link to send the payer to.
	URL string `json:"url"`
	// OrderID is the link's id, which the webhook's order_id will carry;
	// "" when the answer did not say. Give it, when set, as the ID of the
	// link's expectation, beside your ref (docs/reconcile.md, the one rule
	// for finding orders).
	OrderID string `json:"order_id,omitempty"`
}

// APIError is an answer of Kazawallet's API that is not the expected
// result: a non-2xx status, a body saying "success": false or holding an
// "error", or a 2xx answer without a payment link. Errors.Is(err,
// payhook.ErrUnavailable) holds for 5xx and 429 answers, after which a
// retry may succeed.
type APIError struct {
	// Status is the HTTP status of the answer.
	Status int
	// Message is the provider's message, or an excerpt of a body that was
	// not JSON.
	Message string
	// Key is the provider's error key, such as "USER_NOT_FOUND"; "" when
	// it sent none.
	Key string
}

// Error returns the status, message and key, such as "kazawallet: API
// answered 404: User not found (USER_NOT_FOUND)".
func (e *APIError) Error() string {
	s := fmt.Sprintf("kazawallet: API answered %d: %s", e.Status, e.Message)
	if e.Key != "" {
		s += " (" + e.Key + ")"
	}
	return s
}

// Unwrap returns payhook.ErrUnavailable for 5xx and 429 answers.
func (e *APIError) Unwrap() error {
	if e.Status >= 500 || e.Status == http.StatusTooManyRequests {
		return payhook.ErrUnavailable
	}
	return nil
}

// CreatePaymentLink creates a payment link (POST /createPaymentLink). Every
// body value is sent as a JSON string, the amount as its exact text. The
// link is read from "url" or "paymentLink", at the top level of the answer
// or under "data", and the order id from "order_id" or "id". Errors: an
// *APIError for any answer that is not a link, with the API key cut out of
// its message should the API echo it; one wrapping payhook.ErrUnavailable
// when no answer came (network error, timeout, canceled ctx).
func (c *Client) CreatePaymentLink(ctx context.Context, r PaymentLinkRequest) (PaymentLink, error) {
	switch {
	case r.Amount.Cmp(payhook.MustAmount("0")) <= 0:
		return PaymentLink{}, fmt.Errorf("kazawallet: payment link amount %q is not above zero", r.Amount)
	case strings.TrimSpace(r.Currency) == "":
		return PaymentLink{}, fmt.Errorf("kazawallet: payment link has no currency")
	}
	res, err := c.api.Do(ctx, http.MethodPost, "/createPaymentLink", linkRequest{
		Amount: r.Amount.String(), Currency: r.Currency, Email: r.Email, Ref: r.Ref, RedirectURL: r.RedirectURL,
	})
	if err != nil {
		return PaymentLink{}, fmt.Errorf("kazawallet: createPaymentLink: %w", err)
	}
	// An API may echo the key it was given in an error message: cut it
	// out before any of the answer can reach an error.
	return decodeLink(res.Status, bytes.ReplaceAll(res.Body, []byte(c.key.Reveal()), []byte(secret.Redacted)))
}

// linkRequest is the body of createPaymentLink: every value a string.
type linkRequest struct {
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	Email       string `json:"email,omitempty"`
	Ref         string `json:"ref,omitempty"`
	RedirectURL string `json:"redirectUrl,omitempty"`
}

// linkAnswer is any answer of createPaymentLink, success or error. Every
// field is raw, so that no unexpected type fails the decoding.
type linkAnswer struct {
	URL         json.RawMessage `json:"url"`
	PaymentLink json.RawMessage `json:"paymentLink"`
	OrderID     json.RawMessage `json:"order_id"`
	ID          json.RawMessage `json:"id"`
	Data        json.RawMessage `json:"data"`
	Success     json.RawMessage `json:"success"`
	Error       json.RawMessage `json:"error"`
	Message     json.RawMessage `json:"message"`
}

// decodeLink reads createPaymentLink's answer.
func decodeLink(status int, body []byte) (PaymentLink, error) {
	var top linkAnswer
	isJSON := json.Unmarshal(body, &top) == nil
	if !isJSON || status < 200 || status > 299 || string(top.Success) == "false" || hasError(top.Error) {
		return PaymentLink{}, apiError(status, body, top, isJSON)
	}
	var data linkAnswer
	if text(top.Data) == "" {
		_ = json.Unmarshal(top.Data, &data) // data may be absent, or not an object
	}
	link := first(text(top.URL), text(top.PaymentLink), text(data.URL), text(data.PaymentLink), text(top.Data))
	if link == "" {
		return PaymentLink{}, &APIError{Status: status, Message: fmt.Sprintf("answer has no payment link (%.120s)", body)}
	}
	if u, err := url.Parse(link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return PaymentLink{}, &APIError{Status: status, Message: fmt.Sprintf("payment link %.120q is not an http(s) URL", link)}
	}
	return PaymentLink{URL: link, OrderID: first(text(top.OrderID), text(top.ID), text(data.OrderID), text(data.ID))}, nil
}

// apiError builds the error of an answer that is not a link.
func apiError(status int, body []byte, top linkAnswer, isJSON bool) *APIError {
	e := &APIError{Status: status}
	if isJSON {
		var nested struct {
			Message json.RawMessage `json:"message"`
			Key     json.RawMessage `json:"key"`
			Code    json.RawMessage `json:"code"`
			Details struct {
				Key json.RawMessage `json:"key"`
			} `json:"details"`
		}
		if text(top.Error) == "" {
			_ = json.Unmarshal(top.Error, &nested)
		}
		e.Message = first(text(top.Error), text(nested.Message), text(top.Message))
		e.Key = first(text(nested.Details.Key), text(nested.Key), text(nested.Code))
	} else {
		e.Message = excerpt(body)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Message == "" {
		e.Message = "unexpected answer"
	}
	return e
}

// hasError reports whether an "error" field holds something: not absent,
// null, false or "".
func hasError(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "false", `""`:
		return false
	}
	return true
}

// text returns a JSON string's contents or a number's text, else "".
func text(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// excerpt shortens a body that is not JSON, such as an HTML error page, to
// one line for an error message.
func excerpt(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}

// LogValue implements slog.LogValuer, so a Client logs without its key.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.base), slog.String("api_key", secret.Redacted))
}

// String returns a description without the key.
func (c Client) String() string {
	return "kazawallet.Client{base_url: " + c.base + ", api_key: REDACTED}"
}

// GoString is String, so that %#v prints no key either.
func (c Client) GoString() string { return c.String() }

// Format writes String whatever the verb, so that no verb prints the key.
func (c Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }
