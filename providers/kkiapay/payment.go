package kkiapay

import "github.com/payhook/payhook"

// Currency is the currency of KKiaPay's amounts: CFA francs (XOF).
const Currency = "XOF"

// Payment returns the event as the one view every provider gives. With a
// confirmation by the status API, Ref is the API's partnerId and vouched
// for; without, it is the webhook's, which the x-kkiapay-secret header
// does not cover.
func (e Event) Payment() payhook.Payment {
	p := payhook.Payment{Provider: Name, ID: e.TransactionID, Ref: e.PartnerID, Amount: e.Amount, Currency: Currency}
	if e.Confirmation != nil {
		p.Ref, p.RefVouched = e.Confirmation.PartnerID, true
	}
	switch {
	case e.Paid():
		p.Outcome = payhook.PaymentPaid
	case e.Type == TransactionFailed, e.Type == TransactionSuccess: // a success whose isPaymentSucces is false
		p.Outcome = payhook.PaymentFailed
	}
	return p
}
