package kkiapay

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/payhook/payhook"
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
	// "false" strings are read as booleans). Prefer [Event.Succeeded].
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

// Succeeded reports whether the event says the payment succeeded: its type
// is transaction.success and isPaymentSucces, when present, does not say
// otherwise. A transaction.success with isPaymentSucces false is not a
// success.
func (e Event) Succeeded() bool {
	return e.Type == TransactionSuccess && (e.PaymentSucceeded == nil || *e.PaymentSucceeded)
}

// DecodeStateData decodes StateData into v, as json.Unmarshal does. With no
// StateData it returns nil and leaves v unchanged.
func (e Event) DecodeStateData(v any) error { return decodeState("stateData", e.StateData, v) }

// EventFrom returns the KKiaPay event that payhook's middleware put in ctx,
// and whether there was one.
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
