package kkiapay

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/jsonx"
)

// EventType is the webhook's "event" field.
type EventType string

// The events KKiaPay documents, the only ones Verify accepts.
const (
	TransactionSuccess EventType = "transaction.success"
	TransactionFailed  EventType = "transaction.failed"
)

// Method is how the customer paid: the webhook's "method", the status
// API's "source".
type Method string

// The methods seen in KKiaPay's payloads. Others are kept as they arrive.
const (
	MobileMoney Method = "MOBILE_MONEY"
	Wallet      Method = "WALLET"
	Card        Method = "CARD"
)

// Event is a verified KKiaPay webhook. The JSON names are KKiaPay's, so an
// Event encodes much as it arrived. Fields that KKiaPay did not send, or sent
// with a type that cannot be read (say an object where a string belongs),
// are left zero rather than rejecting the delivery, except those the event
// cannot do without: TransactionID (required), Type and Amount.
type Event struct {
	// TransactionID is KKiaPay's transaction id, a JSON string or number:
	// the event's idempotency key.
	TransactionID string `json:"transactionId"`
	// Type is "transaction.success" or "transaction.failed": Verify
	// refuses any other name.
	Type EventType `json:"event"`
	// PaymentSucceeded is the webhook's "isPaymentSucces" (one "s", as
	// KKiaPay spells it): nil when absent or not a boolean ("true" and
	// "false" strings are read as booleans). Prefer [Event.Paid].
	PaymentSucceeded *bool `json:"isPaymentSucces,omitempty"`
	// Account is the paying account (a phone number for mobile money), ""
	// when KKiaPay sends null.
	Account string `json:"account"`
	// Label is the payment's label.
	Label string `json:"label"`
	// Method is MOBILE_MONEY, WALLET or CARD.
	Method Method `json:"method"`
	// Amount is the amount paid, exactly as sent (XOF, an integer in every
	// sample). Zero (IsZero) when absent, as in most failures; with
	// confirmation, an absent amount is filled from the status API.
	Amount payhook.Amount `json:"amount"`
	// Fees are KKiaPay's fees, exactly as sent; 0 on failures.
	Fees payhook.Amount `json:"fees"`
	// PartnerID is the merchant's reference given to the widget, often "".
	PartnerID string `json:"partnerId"`
	// PerformedAt is when the transaction was performed; zero when absent or
	// in no known format. Times without a zone are taken as UTC.
	PerformedAt time.Time `json:"performedAt,omitzero"`
	// StateData is the "data" the merchant gave the widget, as JSON. KKiaPay
	// sends it as an object or, depending on the widget's version, as a
	// JSON-encoded string; both give the object's JSON here. A string that
	// does not hold an object or an array is kept as a JSON string; null,
	// "" and an absent field give nil. Decode it with
	// [Event.DecodeStateData].
	StateData json.RawMessage `json:"stateData,omitempty"`
	// FailureCode says why a payment failed: processing_error,
	// insufficient_fund, payment_declined, ...
	FailureCode string `json:"failureCode,omitempty"`
	// FailureMessage describes the failure.
	FailureMessage string `json:"failureMessage,omitempty"`
	// Confirmation is the status API's answer for the transaction, when the
	// Provider confirms webhooks ([WithConfirmation]); nil otherwise. It
	// vouches for TransactionID, Type and Amount only: its State and
	// PartnerID, not the webhook's StateData and PartnerID, are KKiaPay's.
	Confirmation *Transaction `json:"confirmation,omitempty"`
}

// Paid reports whether the event is a successful payment: its type is
// transaction.success and isPaymentSucces, when present, does not say
// otherwise. A transaction.success with isPaymentSucces false is not a
// payment. With confirmation ([WithConfirmation]) the status API agreed.
func (e Event) Paid() bool {
	return e.Type == TransactionSuccess && (e.PaymentSucceeded == nil || *e.PaymentSucceeded)
}

// DecodeStateData decodes StateData into v, as json.Unmarshal does. With no
// StateData it returns nil and leaves v unchanged.
func (e Event) DecodeStateData(v any) error { return decodeState("stateData", e.StateData, v) }

// EventFrom returns the KKiaPay event that payhook's middleware put in ctx,
// and whether there was one: payhook.EventFrom[Event], without a type
// parameter to get wrong.
func EventFrom(ctx context.Context) (Event, bool) { return payhook.EventFrom[Event](ctx) }

func decodeState(field string, data json.RawMessage, v any) error {
	if len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("kkiapay: decoding %s: %w", field, err)
	}
	return nil
}

// wireEvent is a webhook body as KKiaPay sends it. The fields an event
// cannot do without are strict: a transactionId that is neither a string
// nor a number, an event that is not a string or an amount that is not a
// decimal make the body malformed. The others are lenient (jsonx.Text, flag,
// jsonx.Decimal, jsonx.Time, jsonx.Object): a value of an unexpected type is read as zero,
// since rejecting the delivery over a label would lose a real payment.
type wireEvent struct {
	TransactionID  jsonx.String   `json:"transactionId"`
	Event          string         `json:"event"`
	Amount         payhook.Amount `json:"amount"`
	IsPaymentSucc  flag           `json:"isPaymentSucces"`
	Account        jsonx.Text     `json:"account"`
	Label          jsonx.Text     `json:"label"`
	Method         jsonx.Text     `json:"method"`
	Fees           jsonx.Decimal  `json:"fees"`
	PartnerID      jsonx.Text     `json:"partnerId"`
	PerformedAt    jsonx.Time     `json:"performedAt"`
	StateData      jsonx.Object   `json:"stateData"`
	FailureCode    jsonx.Text     `json:"failureCode"`
	FailureMessage jsonx.Text     `json:"failureMessage"`
}

// decode decodes a webhook body.
func decode(body []byte) (Event, error) {
	var w wireEvent
	if err := jsonx.Unmarshal(body, &w); err != nil {
		return Event{}, fmt.Errorf("kkiapay: %w: %w", payhook.ErrMalformed, err)
	}
	if strings.TrimSpace(string(w.TransactionID)) == "" {
		return Event{}, fmt.Errorf("kkiapay: %w: no transactionId", payhook.ErrMalformed)
	}
	switch t := EventType(w.Event); t {
	case TransactionSuccess, TransactionFailed:
	default:
		// An event KKiaPay does not document could be anything, including
		// a "transaction.pending" a forger sends to consume the key of a
		// real payment: it is refused before any key is claimed.
		return Event{}, fmt.Errorf("kkiapay: %w: event %.40q is not one KKiaPay documents (transaction.success, transaction.failed)", payhook.ErrMalformed, t)
	}
	return Event{
		TransactionID:    string(w.TransactionID),
		Type:             EventType(w.Event),
		PaymentSucceeded: w.IsPaymentSucc.ptr(),
		Account:          string(w.Account),
		Label:            string(w.Label),
		Method:           Method(w.Method),
		Amount:           w.Amount,
		Fees:             amount(w.Fees),
		PartnerID:        string(w.PartnerID),
		PerformedAt:      time.Time(w.PerformedAt),
		StateData:        json.RawMessage(w.StateData),
		FailureCode:      string(w.FailureCode),
		FailureMessage:   string(w.FailureMessage),
	}, nil
}

// flag reads a boolean, or a string or number that plainly means one; it is
// unknown otherwise. It never fails.
type flag uint8

const (
	flagUnknown flag = iota
	flagFalse
	flagTrue
)

func (f *flag) UnmarshalJSON(data []byte) error {
	switch strings.ToLower(strings.Trim(string(data), `"`)) {
	case "true", "1":
		*f = flagTrue
	case "false", "0":
		*f = flagFalse
	default:
		*f = flagUnknown
	}
	return nil
}

func (f flag) ptr() *bool {
	if f == flagUnknown {
		return nil
	}
	b := f == flagTrue
	return &b
}

// amount is d as an Amount: the zero Amount when d is "".
func amount(d jsonx.Decimal) payhook.Amount {
	a, _ := payhook.ParseAmount(string(d)) // every non-empty Decimal parses
	return a
}
