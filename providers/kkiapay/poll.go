package kkiapay

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/apicache"
)

var _ payhook.Poller[Event] = (*Provider)(nil)

// Poll implements payhook.Poller: it asks the status API about transaction
// id and returns the event that the answer describes, built from the
// answer alone (Confirmation is the answer): transaction.success for
// SUCCESS, transaction.failed for FAILED and REVERTED (FailureCode
// "reverted" for the latter). PENDING is payhook.ErrPending; an unknown
// transaction, or an answer for another one, is
// payhook.ErrInvalidSignature; an API that cannot be consulted is
// payhook.ErrUnavailable. It needs the API keys of [WithConfirmation]:
// without them, its error wraps payhook.ErrConfig. It shares the answers
// remembered with [Provider.Confirm], so a webhook and a poll of one
// transaction cost one call.
func (p *Provider) Poll(ctx context.Context, id string) (Event, error) {
	if p.confirm == nil {
		return Event{}, fmt.Errorf("kkiapay: %w: polling needs the status API's keys (WithConfirmation)", payhook.ErrConfig)
	}
	tx, err := p.answers.Get(ctx, id, func(ctx context.Context) (Transaction, error) {
		return p.confirm.Status(ctx, id)
	}, settled)
	tx.Raw, tx.State = bytes.Clone(tx.Raw), bytes.Clone(tx.State) // the cache's copy stays its own
	switch {
	case err != nil && (errors.Is(err, apicache.ErrBusy) || ctx.Err() != nil):
		return Event{}, fmt.Errorf("kkiapay: %w: polling transaction %.64q: %w", payhook.ErrUnavailable, id, err)
	case errors.Is(err, ErrNotFound):
		return Event{}, fmt.Errorf("kkiapay: %w: transaction %.64q unknown to the status API", payhook.ErrInvalidSignature, id)
	case errors.Is(err, payhook.ErrUnavailable):
		return Event{}, err
	case err != nil:
		return Event{}, fmt.Errorf("kkiapay: %w: polling transaction %.64q: %w", payhook.ErrUnavailable, id, err)
	case tx.TransactionID != "" && tx.TransactionID != id:
		return Event{}, fmt.Errorf("kkiapay: %w: status API answered for transaction %.64q, not %.64q", payhook.ErrInvalidSignature, tx.TransactionID, id)
	}
	e := Event{TransactionID: id, Method: tx.Source, Amount: tx.Amount, Fees: tx.Fees, PartnerID: tx.PartnerID,
		PerformedAt: tx.PerformedAt, StateData: tx.State, FailureCode: tx.FailureCode, FailureMessage: tx.FailureMessage}
	ok := true
	switch tx.Status {
	case StatusSuccess:
		e.Type = TransactionSuccess
	case StatusFailed:
		e.Type, ok = TransactionFailed, false
	case StatusReverted:
		e.Type, ok = TransactionFailed, false
		if e.FailureCode == "" {
			e.FailureCode = "reverted"
		}
	default: // PENDING, or a status KKiaPay has not documented: not settled
		return Event{}, fmt.Errorf("kkiapay: %w: transaction %.64q is %.20q", payhook.ErrPending, id, tx.Status)
	}
	e.PaymentSucceeded = &ok
	e.Confirmation = &tx
	return e, nil
}
