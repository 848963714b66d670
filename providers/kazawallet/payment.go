package kazawallet

import "github.com/payhook/payhook"

// Payment returns the event as the one view every provider gives. Ref is
// never vouched for: Kazawallet's signature covers the amount and the
// order id only, so find the order through an expectation
// (payhook.WithExpectations), whose reference finds it and whose amount
// and currency the signed amount must match. Currency is not signed
// either.
func (e Event) Payment() payhook.Payment {
	p := payhook.Payment{Provider: Name, ID: e.OrderID, Ref: e.Ref, Amount: e.Amount, Currency: e.Currency}
	switch e.Type {
	case Fulfilled:
		p.Outcome = payhook.PaymentPaid
	case TimedOut:
		p.Outcome = payhook.PaymentTimedOut
	}
	return p
}
