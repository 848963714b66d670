package kkiapay

import (
	"bytes"
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
// decimal make the body malformed. The others are lenient (text, flag,
// looseAmount, stamp, state): a value of an unexpected type is read as zero,
// since rejecting the delivery over a label would lose a real payment.
type wireEvent struct {
	TransactionID  jsonx.String   `json:"transactionId"`
	Event          string         `json:"event"`
	Amount         payhook.Amount `json:"amount"`
	IsPaymentSucc  flag           `json:"isPaymentSucces"`
	Account        text           `json:"account"`
	Label          text           `json:"label"`
	Method         text           `json:"method"`
	Fees           looseAmount    `json:"fees"`
	PartnerID      text           `json:"partnerId"`
	PerformedAt    stamp          `json:"performedAt"`
	StateData      state          `json:"stateData"`
	FailureCode    text           `json:"failureCode"`
	FailureMessage text           `json:"failureMessage"`
}

func decodeEvent(body []byte) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(body, &w); err != nil {
		return Event{}, fmt.Errorf("kkiapay: %w: %w", payhook.ErrMalformed, err)
	}
	if strings.TrimSpace(string(w.TransactionID)) == "" {
		return Event{}, fmt.Errorf("kkiapay: %w: no transactionId", payhook.ErrMalformed)
	}
	return Event{
		TransactionID:    string(w.TransactionID),
		Type:             EventType(w.Event),
		PaymentSucceeded: w.IsPaymentSucc.ptr(),
		Account:          string(w.Account),
		Label:            string(w.Label),
		Method:           Method(w.Method),
		Amount:           w.Amount,
		Fees:             payhook.Amount(w.Fees),
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
	TransactionID    text           `json:"transactionId"`
	Status           text           `json:"status"`
	Type             text           `json:"type"`
	Source           text           `json:"source"`
	SourceCommonName text           `json:"source_common_name"`
	Amount           payhook.Amount `json:"amount"`
	Fees             looseAmount    `json:"fees"`
	Income           looseAmount    `json:"income"`
	FeeSupportedBy   text           `json:"feeSupportedBy"`
	Reason           text           `json:"reason"`
	FailureCode      text           `json:"failureCode"`
	FailureMessage   text           `json:"failureMessage"`
	PartnerID        text           `json:"partnerId"`
	State            state          `json:"state"`
	PerformedAt      stamp          `json:"performed_at"` // ISO 8601
	PerformedOn      stamp          `json:"performedAt"`  // dd/mm/yyyy
	Client           *wireCustomer  `json:"client"`
	Demandeur        *wireCustomer  `json:"demandeur"` // "client" in French, seen in one integration
}

type wireCustomer struct {
	Fullname text `json:"fullname"`
	Phone    text `json:"phone"`
	Email    text `json:"email"`
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
		Fees:             payhook.Amount(w.Fees),
		Income:           payhook.Amount(w.Income),
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

// text reads a JSON string as itself and a number or boolean as its
// literal; null, objects and arrays give "". It never fails.
type text string

func (t *text) UnmarshalJSON(data []byte) error {
	// encoding/json has validated data, and it is not empty.
	switch data[0] {
	case '"':
		s, _ := unquote(data)
		*t = text(s)
	case '{', '[', 'n':
		*t = ""
	default:
		*t = text(data)
	}
	return nil
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

// looseAmount is a payhook.Amount that is zero, rather than an error, when
// the value is not a decimal.
type looseAmount payhook.Amount

func (a *looseAmount) UnmarshalJSON(data []byte) error {
	var v payhook.Amount
	if v.UnmarshalJSON(data) == nil {
		*a = looseAmount(v)
	}
	return nil
}

// stamp reads a time from a JSON string in one of timeLayouts; it is zero
// otherwise. It never fails.
type stamp time.Time

// timeLayouts are the forms a KKiaPay time takes: ISO 8601 in the webhook
// and the status API's performed_at, dd/mm/yyyy in the status API's
// performedAt, and close variants. Layouts without a zone are read as UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
	"02/01/2006",
	"02/01/2006 15:04:05",
}

func (s *stamp) UnmarshalJSON(data []byte) error {
	*s = stamp{}
	str, ok := unquote(data)
	if !ok {
		return nil
	}
	str = strings.TrimSpace(str)
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, str); err == nil {
			*s = stamp(t)
			return nil
		}
	}
	return nil
}

// state is stateData (webhook) or state (status API), normalized: an object
// or array as it is; a JSON string holding an object or an array, that
// object or array; any other string, the JSON string; null or "", nil. It
// never fails.
type state json.RawMessage

func (s *state) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case 'n':
		*s = nil
	case '"':
		str, _ := unquote(data)
		inner := bytes.TrimSpace([]byte(str))
		switch {
		case len(inner) == 0:
			*s = nil
		case (inner[0] == '{' || inner[0] == '[') && json.Valid(inner):
			*s = inner
		default:
			*s = append(state(nil), data...)
		}
	default:
		*s = append(state(nil), data...)
	}
	return nil
}

// unquote returns the contents of a JSON string, and false for any other
// JSON value. data has been validated by encoding/json.
func unquote(data []byte) (string, bool) {
	if len(data) < 2 || data[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(data, '\\') < 0 {
		return string(data[1 : len(data)-1]), true
	}
	var s string
	if json.Unmarshal(data, &s) != nil {
		return "", false
	}
	return s, true
}
