package kkiapay

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/internal/jsonx"
)

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

func decodeEvent(body []byte) (Event, error) {
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
