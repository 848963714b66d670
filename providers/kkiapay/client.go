package kkiapay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apiclient"
	"github.com/payhook/payhook/internal/jsonx"
	"github.com/payhook/payhook/internal/secret"
)

// API paths, below the base URL.
const (
	statusPath = "/api/v1/transactions/status"
	revertPath = "/api/v1/transactions/revert"
)

// ErrNotFound means the API does not know the transaction: it answered 404
// (with a JSON or empty body), another 4xx whose body says "not found", or
// 200 with {"status":"TRANSACTION_NOT_FOUND"}.
var ErrNotFound = errors.New("kkiapay: transaction not found")

// Status is a transaction's state in the status API.
type Status string

// The statuses KKiaPay documents. Others are kept as they arrive.
const (
	StatusSuccess  Status = "SUCCESS"
	StatusFailed   Status = "FAILED"
	StatusPending  Status = "PENDING"
	StatusReverted Status = "REVERTED" // refunded
)

// statusNotFound is how the API says "no such transaction" with a 200.
const statusNotFound = "TRANSACTION_NOT_FOUND"

// Transaction is the status API's answer for one transaction. Mind the
// names: the API's "performed_at" (an ISO 8601 instant) is PerformedAt, and
// its "performedAt" (a dd/mm/yyyy date) is PerformedOn; "source" is the
// webhook's "method", and "state" its "stateData".
type Transaction struct {
	// TransactionID is KKiaPay's transaction id.
	TransactionID string `json:"transactionId"`
	// Status is SUCCESS, FAILED, PENDING or REVERTED.
	Status Status `json:"status"`
	// Type is DEBIT or CREDIT.
	Type string `json:"type"`
	// Source is how the customer paid: MOBILE_MONEY, WALLET or CARD.
	Source Method `json:"source"`
	// SourceCommonName names the operator, such as "mtn-benin".
	SourceCommonName string `json:"source_common_name"`
	// Amount, Fees and Income (Amount less the fees the merchant bears) are
	// exact.
	Amount payhook.Amount `json:"amount"`
	Fees   payhook.Amount `json:"fees"`
	Income payhook.Amount `json:"income"`
	// FeeSupportedBy says who bears the fees, such as "merchant".
	FeeSupportedBy string `json:"feeSupportedBy"`
	// Reason is the payment's reason, as given to the widget.
	Reason string `json:"reason"`
	// FailureCode and FailureMessage say why a payment failed.
	FailureCode    string `json:"failureCode,omitempty"`
	FailureMessage string `json:"failureMessage,omitempty"`
	// PartnerID is the merchant's reference given to the widget.
	PartnerID string `json:"partnerId"`
	// State is the widget's data, normalized as Event.StateData is; decode
	// it with [Transaction.DecodeState].
	State json.RawMessage `json:"state,omitempty"`
	// PerformedAt is the instant of the API's "performed_at" (ISO 8601).
	PerformedAt time.Time `json:"performed_at,omitzero"`
	// PerformedOn is the date of the API's "performedAt" (dd/mm/yyyy, not
	// ISO: the trap the two names set), at midnight UTC. Use PerformedAt
	// for the instant.
	PerformedOn time.Time `json:"performed_on,omitzero"`
	// Client is the paying customer.
	Client Customer `json:"client"`
	// Raw is the API's answer as received, for fields not typed here. It
	// survives a JSON round trip (an inbox keeps events as JSON) as
	// compact JSON.
	Raw json.RawMessage `json:"raw,omitempty"`
}

// DecodeState decodes State into v, as json.Unmarshal does. With no State
// it returns nil and leaves v unchanged.
func (t Transaction) DecodeState(v any) error { return decodeState("state", t.State, v) }

// StatusBody returns tx as KKiaPay's status API answers it, the body that
// [Client.Status] and [Client.Revert] read: amount, fees and income as JSON
// numbers (fees 0 when zero; amount and income left out when zero),
// performed_at as an ISO 8601 instant with milliseconds and performedAt as
// a dd/mm/yyyy date (each left out when zero), state (null when nil) and
// client. It plays KKiaPay's part for tools (the sandbox of payhook serve)
// and for kkiapaytest's fake API. It fails only when tx.State is not valid
// JSON.
func StatusBody(tx Transaction) ([]byte, error) {
	var performedAt, performedOn string
	if !tx.PerformedAt.IsZero() {
		performedAt = tx.PerformedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if !tx.PerformedOn.IsZero() {
		performedOn = tx.PerformedOn.Format("02/01/2006")
	}
	state := tx.State
	if len(state) == 0 {
		state = json.RawMessage("null")
	}
	fees := jsonx.Number(tx.Fees.String())
	if fees == "" {
		fees = "0"
	}
	return json.Marshal(struct {
		PerformedAt      string          `json:"performed_at,omitempty"`
		Type             string          `json:"type"`
		Status           string          `json:"status"`
		Source           string          `json:"source"`
		SourceCommonName string          `json:"source_common_name"`
		Amount           json.Number     `json:"amount,omitempty"`
		Fees             json.Number     `json:"fees"`
		Reason           string          `json:"reason"`
		FailureCode      string          `json:"failureCode"`
		FailureMessage   string          `json:"failureMessage"`
		State            json.RawMessage `json:"state"`
		PartnerID        string          `json:"partnerId"`
		FeeSupportedBy   string          `json:"feeSupportedBy"`
		Income           json.Number     `json:"income,omitempty"`
		TransactionID    string          `json:"transactionId"`
		PerformedOn      string          `json:"performedAt,omitempty"`
		Client           Customer        `json:"client"`
	}{performedAt, tx.Type, string(tx.Status), string(tx.Source), tx.SourceCommonName, jsonx.Number(tx.Amount.String()), fees,
		tx.Reason, tx.FailureCode, tx.FailureMessage, state, tx.PartnerID, tx.FeeSupportedBy, jsonx.Number(tx.Income.String()), tx.TransactionID,
		performedOn, tx.Client})
}

// Customer is the customer of a transaction, the status API's "client".
type Customer struct {
	// Fullname is the customer's name, "Anonymous customer" when unknown.
	Fullname string `json:"fullname"`
	// Phone is the paying phone number, with the country code.
	Phone string `json:"phone"`
	// Email is the customer's email address, often "".
	Email string `json:"email"`
}

// APIError is an answer of the API other than success or not found.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is the API's message, or the start of its answer when that is
	// not JSON.
	Message string
}

// Error returns "kkiapay: API answered <status>: <message>".
func (e *APIError) Error() string {
	return fmt.Sprintf("kkiapay: API answered %d: %q", e.StatusCode, e.Message)
}

// Unwrap returns payhook.ErrUnavailable for 429 and 5xx answers, which may
// succeed later, and nil for the others.
func (e *APIError) Unwrap() error {
	if e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500 {
		return payhook.ErrUnavailable
	}
	return nil
}

// Client calls KKiaPay's transaction API with a merchant's API keys. Make
// one with [NewClient]; it is safe for concurrent use, and logs and prints
// with its keys redacted.
type Client struct {
	api  *apiclient.Client
	base string         // the base URL, without a password, for printing
	keys []secret.Value // cut out of API messages
}

// NewClient returns a Client with the merchant's public key (sent as
// x-api-key), private key (x-private-key) and secret key (x-secret-key),
// from the API keys page of KKiaPay's dashboard, without surrounding white
// space (a key read from a file often ends in a newline). It calls LiveBaseURL
// unless told otherwise by [WithSandbox] or [WithBaseURL]. An empty key or
// a base URL that is not http(s) is an error wrapping payhook.ErrConfig.
func NewClient(publicKey, privateKey, secretKey string, opts ...ClientOption) (*Client, error) {
	c := newClientConfig(opts)
	if err := c.refused.Err(Name, payhook.ErrConfig); err != nil {
		return nil, err
	}
	publicKey, privateKey, secretKey = strings.TrimSpace(publicKey), strings.TrimSpace(privateKey), strings.TrimSpace(secretKey)
	for _, k := range []struct{ name, v string }{{"public", publicKey}, {"private", privateKey}, {"secret", secretKey}} {
		if k.v == "" {
			return nil, fmt.Errorf("kkiapay: %w: empty %s key", payhook.ErrConfig, k.name)
		}
	}
	base := LiveBaseURL
	switch {
	case c.baseSet:
		base = c.baseURL
	case c.sandbox:
		base = SandboxBaseURL
	}
	if err := apiclient.CheckBase(base); err != nil {
		return nil, fmt.Errorf("kkiapay: %w: %w", payhook.ErrConfig, err)
	}
	api := apiclient.New(base, c.http, map[string]string{"X-Api-Key": publicKey, "X-Private-Key": privateKey, "X-Secret-Key": secretKey}, c.timeout)
	return &Client{
		api:  api,
		base: api.Redacted(),
		keys: []secret.Value{secret.New(publicKey), secret.New(privateKey), secret.New(secretKey)},
	}, nil
}

// Status asks the status API (POST /api/v1/transactions/status) for the
// transaction with id. It returns an error wrapping [ErrNotFound] when the
// API does not know it, an [*APIError] for other refusals, and an error
// wrapping payhook.ErrUnavailable when the API cannot be reached in time,
// answers 429 or 5xx, or answers 2xx with something that is not a
// transaction.
func (c *Client) Status(ctx context.Context, id string) (Transaction, error) {
	tx, err := c.call(ctx, statusPath, id)
	if err == nil && tx.Status == "" {
		return Transaction{}, fmt.Errorf("kkiapay: %w: status answer without a status", payhook.ErrUnavailable)
	}
	return tx, err
}

// Revert asks KKiaPay to refund the transaction with id (POST
// /api/v1/transactions/revert). Its errors are Status's. The answer's shape
// is not documented: the Transaction holds what of it could be read, and
// Raw all of it.
func (c *Client) Revert(ctx context.Context, id string) (Transaction, error) {
	return c.call(ctx, revertPath, id)
}

func (c *Client) call(ctx context.Context, path, id string) (Transaction, error) {
	if strings.TrimSpace(id) == "" {
		return Transaction{}, errors.New("kkiapay: empty transaction id")
	}
	res, err := c.api.Do(ctx, http.MethodPost, path, struct {
		TransactionID string `json:"transactionId"`
	}{id})
	if err != nil {
		return Transaction{}, fmt.Errorf("kkiapay: %w", err)
	}
	if !res.OK() {
		return Transaction{}, c.refusal(res)
	}
	var w wireTransaction
	if err := apiclient.Decode(res, &w); err != nil {
		return Transaction{}, fmt.Errorf("kkiapay: %w: %w", payhook.ErrUnavailable, err)
	}
	if strings.EqualFold(string(w.Status), statusNotFound) {
		return Transaction{}, fmt.Errorf("%w: API answered %d %s", ErrNotFound, res.Status, statusNotFound)
	}
	return w.transaction(res.Body), nil
}

// refusal turns a non-2xx answer into ErrNotFound or an *APIError. A 404
// is "not found" unless it looks like a missing route (an HTML page, or
// Express's "Cannot POST ..."): that means a wrong base URL, and must not
// make confirmation reject genuine payments. Another 4xx, but 401 and 403,
// is "not found" when its body says the transaction was not found.
func (c *Client) refusal(res apiclient.Response) error {
	// Keys are cut out before describe cuts the message short, which could
	// leave the start of one.
	msg, said, isJSON := describe([]byte(c.scrub(string(res.Body))))
	routeMiss := !isJSON && msg != "" || strings.HasPrefix(said, "cannot ")
	switch {
	case routeMiss:
	case res.Status == http.StatusNotFound,
		res.Status >= 400 && res.Status < 500 && res.Status != http.StatusUnauthorized && res.Status != http.StatusForbidden &&
			strings.Contains(said, "transaction") && strings.Contains(said, "not found"):
		return fmt.Errorf("%w: API answered %d", ErrNotFound, res.Status)
	}
	return &APIError{StatusCode: res.Status, Message: msg}
}

// scrub cuts the keys out of s, the longest first, so that a key holding
// another is cut whole.
func (c *Client) scrub(s string) string {
	keys := slices.SortedFunc(slices.Values(c.keys), func(a, b secret.Value) int { return len(b.Reveal()) - len(a.Reveal()) })
	for _, k := range keys {
		s = strings.ReplaceAll(s, k.Reveal(), secret.Redacted)
	}
	return s
}

// describe reads an error answer. msg is its message: the first of
// message, error, reason, status and code that says something, or the
// start of the body when it is not a JSON object. said is all of those
// fields, lowercased, with "_" read as a space.
func describe(body []byte) (msg, said string, isJSON bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields == nil {
		msg = excerpt(strings.TrimSpace(string(body)))
		return msg, strings.ToLower(msg), false
	}
	var all strings.Builder
	for _, k := range []string{"message", "error", "reason", "status", "code"} {
		raw, ok := fields[k]
		if !ok || len(raw) == 0 {
			continue
		}
		var s jsonx.Text
		_ = s.UnmarshalJSON(raw)
		if s == "" && raw[0] == '{' { // {"reason":{"message":...}}
			var inner struct{ Message jsonx.Text }
			_ = json.Unmarshal(raw, &inner)
			s = inner.Message
		}
		if msg == "" {
			msg = excerpt(string(s))
		}
		all.WriteString(string(s))
		all.WriteByte('\n')
	}
	return msg, strings.ReplaceAll(strings.ToLower(all.String()), "_", " "), true
}

// excerpt bounds text from the API before it goes into an error.
func excerpt(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}

// LogValue implements slog.LogValuer, so a Client logs without its keys.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("api", c.base), slog.String("keys", secret.Redacted))
}

// String returns a description without the keys.
func (c Client) String() string {
	return "kkiapay.Client{api: " + c.base + ", keys: REDACTED}"
}

// GoString is String, so that %#v prints no keys either.
func (c Client) GoString() string { return c.String() }

// Format writes String whatever the verb, so that no verb prints a key.
func (c Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// wireTransaction is the status API's answer. Only amount is strict: it is
// what confirmation compares.
type wireTransaction struct {
	TransactionID    jsonx.Text     `json:"transactionId"`
	Status           jsonx.Text     `json:"status"`
	Type             jsonx.Text     `json:"type"`
	Source           jsonx.Text     `json:"source"`
	SourceCommonName jsonx.Text     `json:"source_common_name"`
	Amount           payhook.Amount `json:"amount"`
	Fees             jsonx.Decimal  `json:"fees"`
	Income           jsonx.Decimal  `json:"income"`
	FeeSupportedBy   jsonx.Text     `json:"feeSupportedBy"`
	Reason           jsonx.Text     `json:"reason"`
	FailureCode      jsonx.Text     `json:"failureCode"`
	FailureMessage   jsonx.Text     `json:"failureMessage"`
	PartnerID        jsonx.Text     `json:"partnerId"`
	State            jsonx.Object   `json:"state"`
	PerformedAt      jsonx.Time     `json:"performed_at"` // ISO 8601
	PerformedOn      jsonx.Time     `json:"performedAt"`  // dd/mm/yyyy
	Client           *wireCustomer  `json:"client"`
	Demandeur        *wireCustomer  `json:"demandeur"` // "client" in French, seen in one integration
}

type wireCustomer struct {
	Fullname jsonx.Text `json:"fullname"`
	Phone    jsonx.Text `json:"phone"`
	Email    jsonx.Text `json:"email"`
}

func (w *wireTransaction) transaction(raw []byte) Transaction {
	c := w.Client
	if c == nil {
		c = w.Demandeur
	}
	if c == nil {
		c = &wireCustomer{}
	}
	return Transaction{
		TransactionID:    string(w.TransactionID),
		Status:           Status(w.Status),
		Type:             string(w.Type),
		Source:           Method(w.Source),
		SourceCommonName: string(w.SourceCommonName),
		Amount:           w.Amount,
		Fees:             amount(w.Fees),
		Income:           amount(w.Income),
		FeeSupportedBy:   string(w.FeeSupportedBy),
		Reason:           string(w.Reason),
		FailureCode:      string(w.FailureCode),
		FailureMessage:   string(w.FailureMessage),
		PartnerID:        string(w.PartnerID),
		State:            json.RawMessage(w.State),
		PerformedAt:      time.Time(w.PerformedAt),
		PerformedOn:      time.Time(w.PerformedOn),
		Client:           Customer{Fullname: string(c.Fullname), Phone: string(c.Phone), Email: string(c.Email)},
		Raw:              raw,
	}
}
