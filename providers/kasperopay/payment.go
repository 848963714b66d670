package kasperopay

import "github.com/payhook/payhook"

// Currency is the currency of the amount a Payment gives: the KAS paid.
const Currency = "KAS"

// Payment returns the event as the one view every provider gives: the
// amount is the KAS paid (amount_kas), Ref the merchant's order_id,
// vouched for only when the body's HMAC was checked (Signed): the status
// API does not return it.
func (e Event) Payment() payhook.Payment {
	p := payhook.Payment{Provider: Name, ID: e.PaymentID, Ref: e.OrderID, RefVouched: e.Signed,
		Amount: e.AmountKAS, Currency: Currency}
	switch {
	case e.Type == PaymentCompleted:
		p.Outcome = payhook.PaymentPaid
	case e.Type == PaymentExpired:
		p.Outcome = payhook.PaymentExpired
	}
	return p
}
