package kasperopay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apiclient"
	"github.com/payhook/payhook/internal/jsonx"
)

// ErrNotFound is returned by [Client.Status] when KasperoPay does not know
// the payment: a 404, or an answer whose error says "not found".
var ErrNotFound = errors.New("kasperopay: payment not found")

// maxIDLen bounds a payment id: KasperoPay's are a few dozen bytes.
const maxIDLen = 256

// Status is a payment's state in the status API.
type Status string

// The statuses KasperoPay documents. Others are kept as they arrive, in
// lower case.
const (
	StatusPending    Status = "pending"    // awaiting payment
	StatusConfirming Status = "confirming" // transaction submitted, awaiting confirmation
	StatusCompleted  Status = "completed"  // payment confirmed
	StatusExpired    Status = "expired"    // payment window expired
)

// Payment is the status API's answer for one payment.
type Payment struct {
	// PaymentID is the payment's id, as the API answered it.
	PaymentID string `json:"payment_id"`
	// Status is the payment's state.
	Status Status `json:"status"`
	// AmountKAS is the amount in KAS, exact as the API sent it.
	AmountKAS payhook.Amount `json:"amount_kas,omitzero"`
	// AmountUSD is its value in USD; zero when the API sent none.
	AmountUSD payhook.Amount `json:"amount_usd,omitzero"`
	// TxID is the Kaspa transaction id; "" when the API sent none.
	TxID string `json:"txid,omitempty"`
	// StoreName is the name of the merchant's store.
	StoreName string `json:"store_name,omitempty"`
	// ConfirmedAt is when the payment was confirmed; zero if absent.
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
	// ExpiresAt is when an unpaid payment expires; zero if absent.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Completed reports whether the payment is confirmed.
func (p Payment) Completed() bool { return p.Status == StatusCompleted }

// Client calls KasperoPay's status API, which needs no credentials: use it
// to poll a payment instead of, or besides, waiting for its webhook. Make
// one with [NewClient]; it is safe for concurrent use.
type Client struct {
	api  *apiclient.Client
	path string
}

// NewClient returns a status API client. It fails with payhook.ErrConfig
// on a base URL that is not http(s) or a path holding a query.
func NewClient(opts ...ClientOption) (*Client, error) {
	c := newClientConfig(opts)
	if err := c.refused.Err(Name, payhook.ErrConfig); err != nil {
		return nil, err
	}
	if err := apiclient.CheckBase(c.baseURL); err != nil {
		return nil, fmt.Errorf("kasperopay: %w: %w", payhook.ErrConfig, err)
	}
	return &Client{api: apiclient.New(c.baseURL, c.http, nil, c.timeout), path: c.statusPath}, nil
}

// Status returns the payment with id paymentID as the status API reports
// it. The id is sent as one escaped path segment, so that no id can reach
// another path or add a query. Errors wrap:
//   - [ErrNotFound] when KasperoPay does not know the payment: a 404 that is
//     not an HTML page (an HTML 404 means the status path is wrong, see
//     [WithStatusPath]), or a 2xx or 4xx answer whose error says "not
//     found";
//   - payhook.ErrMalformed when paymentID cannot be a payment id (empty,
//     "." or "..", or over 256 bytes);
//   - payhook.ErrUnavailable when no usable answer came: network errors,
//     timeouts, any other non-2xx status, or a 2xx answer that is not a
//     payment as JSON.
func (c *Client) Status(ctx context.Context, paymentID string) (Payment, error) {
	if err := checkID(paymentID); err != nil {
		return Payment{}, err
	}
	res, err := c.api.Do(ctx, http.MethodGet, c.path+url.PathEscape(paymentID), nil)
	if err != nil {
		return Payment{}, fmt.Errorf("kasperopay: status of %q: %w", paymentID, err)
	}
	p, err := decodePayment(res.Status, res.Body)
	switch {
	case err == ErrNotFound:
		return Payment{}, fmt.Errorf("%w: %q", ErrNotFound, paymentID)
	case err != nil:
		return Payment{}, fmt.Errorf("kasperopay: status of %q: %w", paymentID, err)
	}
	return p, nil
}

// checkID refuses what cannot be a payment id and could be mistaken for a
// path segment once escaped.
func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("kasperopay: %w: no payment_id", payhook.ErrMalformed)
	case id == "." || id == "..":
		return fmt.Errorf("kasperopay: %w: payment_id %q is a path segment", payhook.ErrMalformed, id)
	case len(id) > maxIDLen:
		return fmt.Errorf("kasperopay: %w: payment_id over %d bytes", payhook.ErrMalformed, maxIDLen)
	}
	return nil
}

// paymentWire is a status answer as KasperoPay sends it.
type paymentWire struct {
	PaymentID     jsonx.String    `json:"payment_id"`
	Status        string          `json:"status"`
	AmountKAS     optAmount       `json:"amount_kas"`
	AmountUSD     optAmount       `json:"amount_usd"`
	TxID          jsonx.String    `json:"txid"`
	TransactionID jsonx.String    `json:"transaction_id"`
	StoreName     jsonx.String    `json:"store_name"`
	ConfirmedAt   jsonx.Time      `json:"confirmed_at"`
	ExpiresAt     jsonx.Time      `json:"expires_at"`
	Error         json.RawMessage `json:"error"`
	Message       json.RawMessage `json:"message"`
}

// decodePayment reads one status answer.
func decodePayment(status int, body []byte) (Payment, error) {
	trimmed := bytes.TrimSpace(body)
	if status == http.StatusNotFound {
		if bytes.HasPrefix(trimmed, []byte("<")) {
			return Payment{}, fmt.Errorf("%w: status API answered an HTML 404 page: is the status path right?", payhook.ErrUnavailable)
		}
		return Payment{}, ErrNotFound
	}
	if status < 200 || status > 299 {
		if status < 500 && saysNotFound(trimmed) {
			return Payment{}, ErrNotFound
		}
		return Payment{}, fmt.Errorf("%w: status API answered %d (%.80q)", payhook.ErrUnavailable, status, trimmed)
	}
	var w paymentWire
	if err := json.Unmarshal(body, &w); err != nil {
		return Payment{}, fmt.Errorf("%w: status API answer is not a payment (%.80q): %w", payhook.ErrUnavailable, trimmed, err)
	}
	if w.Status == "" {
		if saysNotFound(trimmed) {
			return Payment{}, ErrNotFound
		}
		return Payment{}, fmt.Errorf("%w: status API answer has no status (%.80q)", payhook.ErrUnavailable, trimmed)
	}
	txid := w.TxID
	if txid == "" {
		txid = w.TransactionID
	}
	return Payment{
		PaymentID:   string(w.PaymentID),
		Status:      Status(strings.ToLower(w.Status)),
		AmountKAS:   w.AmountKAS.Amount,
		AmountUSD:   w.AmountUSD.Amount,
		TxID:        string(txid),
		StoreName:   string(w.StoreName),
		ConfirmedAt: time.Time(w.ConfirmedAt),
		ExpiresAt:   time.Time(w.ExpiresAt),
	}, nil
}

// saysNotFound reports whether an answer without a payment says that the
// payment does not exist: {"error":"Payment not found"} and the like.
func saysNotFound(body []byte) bool {
	var w struct {
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &w) != nil {
		return !bytes.HasPrefix(body, []byte("<")) && containsFold(body, "not found")
	}
	return containsFold(w.Error, "not found") || containsFold(w.Message, "not found")
}

func containsFold(b []byte, s string) bool {
	return bytes.Contains(bytes.ToLower(b), []byte(s))
}

// LogValue implements slog.LogValuer: a Client logs its base URL without
// a password.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("api", c.api.Redacted()), slog.String("status_path", c.path))
}

// String returns a description without the base URL's password.
func (c Client) String() string {
	return "kasperopay.Client{api: " + c.api.Redacted() + ", status_path: " + c.path + "}"
}

// GoString is String, so that %#v prints no password either.
func (c Client) GoString() string { return c.String() }

// Format writes String whatever the verb.
func (c Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }
