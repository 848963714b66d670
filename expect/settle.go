package expect

// WhyNotSettled is for the stores: it returns what Settle answers when a
// settlement s found x, the expectation its key finds, and did not settle
// it. taken says whether s.PaymentID settled an expectation of x.Provider
// (x itself included). The answer is, in the contract's order: nil when
// s.PaymentID settled x already (a retry: Settle returns x unchanged);
// ErrSettled, ErrState or ErrConflict; or retry true when nothing refuses
// s, because x changed since the store last looked (a store that checks
// and writes in two steps then tries again).
func WhyNotSettled(x Expectation, s Settlement, taken bool) (retry bool, err error) {
	switch {
	case x.State == Settled && x.PaymentID == s.PaymentID:
		return false, nil
	case x.State == Settled:
		return false, ErrSettled
	case x.State == Cancelled:
		return false, ErrState
	case x.ID != "" && x.ID != s.PaymentID:
		return false, ErrConflict
	case taken:
		return false, ErrConflict
	}
	return true, nil
}
