package acmepay

import (
	"context"
	"fmt"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/jsonx"
)

// EventType is the webhook's "type".
type EventType string

// The events AcmePay documents, the only ones Verify accepts.
const (
	ChargeSucceeded EventType = "charge.succeeded"
	ChargeFailed    EventType = "charge.failed"
)

// Event is a verified AcmePay webhook.
type Event struct {
	// ID is the event's id: the idempotency key.
	ID string `json:"id"`
	// Type is ChargeSucceeded or ChargeFailed.
	Type EventType `json:"type"`
	// Created is when AcmePay created the event.
	Created time.Time `json:"created"`
	// ChargeID is the charge the event is about.
	ChargeID string `json:"charge_id"`
	// Amount is the charge's amount, exactly as sent.
	Amount payhook.Amount `json:"amount"`
	// Currency is the currency code.
	Currency string `json:"currency"`
}

// Paid reports whether the event is a successful payment.
func (e Event) Paid() bool { return e.Type == ChargeSucceeded }

// EventFrom returns the AcmePay event that payhook's middleware put in
// ctx, and whether there was one.
func EventFrom(ctx context.Context) (Event, bool) { return payhook.EventFrom[Event](ctx) }

// wire is a webhook body as AcmePay sends it.
type wire struct {
	ID      jsonx.String `json:"id"`
	Type    string       `json:"type"`
	Created jsonx.Time   `json:"created"`
	Data    struct {
		ChargeID jsonx.String   `json:"charge_id"`
		Amount   payhook.Amount `json:"amount"`
		Currency jsonx.Text     `json:"currency"`
	} `json:"data"`
}

// decode decodes a webhook body.
func decode(body []byte) (Event, error) {
	var w wire
	if err := jsonx.Unmarshal(body, &w); err != nil {
		return Event{}, fmt.Errorf("acmepay: %w: %w", payhook.ErrMalformed, err)
	}
	switch t := EventType(w.Type); {
	case w.ID == "":
		return Event{}, fmt.Errorf("acmepay: %w: no id", payhook.ErrMalformed)
	case t != ChargeSucceeded && t != ChargeFailed:
		return Event{}, fmt.Errorf("acmepay: %w: event type %.40q is not one AcmePay documents", payhook.ErrMalformed, w.Type)
	}
	return Event{ID: string(w.ID), Type: EventType(w.Type), Created: time.Time(w.Created), ChargeID: string(w.Data.ChargeID),
		Amount: w.Data.Amount, Currency: string(w.Data.Currency)}, nil
}
