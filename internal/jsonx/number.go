package jsonx

import (
	"encoding/json"

	"github.com/payhook/payhook/internal/decimal"
)

// Number returns the decimal text s as a JSON number, for encoders of a
// provider's wire format that sends amounts as numbers: s as it is when it
// is one, else its canonical form ("007" is a decimal but not a JSON
// number). "" gives "", which the encoders leave out or write as null.
func Number(s string) json.Number {
	if s == "" || json.Valid([]byte(s)) {
		return json.Number(s)
	}
	c, err := decimal.Canonical(s)
	if err != nil {
		return json.Number(s) // not a decimal: json.Marshal refuses it
	}
	return json.Number(c)
}
