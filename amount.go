package payhook

import (
	"fmt"
	"math/big"
	"strconv"
	"unicode/utf8"

	"github.com/payhook/payhook/internal/decimal"
)

// Amount is a decimal amount exactly as a provider sent it. It never passes
// through a float: "10.50" stays "10.50", and 0.1 + 0.2 questions do not
// arise. It decodes from a JSON string ("10.50") or a JSON number (10.50),
// keeping the received text, and encodes as a JSON string of that text.
//
// The zero Amount is "no amount" (a JSON null or an absent field); see
// [Amount.IsZero]. Amounts are values and safe for concurrent use.
type Amount struct {
	text string
}

// ParseAmount returns the Amount whose text is s. It reports an error
// wrapping [ErrMalformed] when s is not a decimal number such as "10",
// "-0.5" or "1e3".
func ParseAmount(s string) (Amount, error) {
	if !decimal.Valid(s) {
		return Amount{}, fmt.Errorf("%w: amount %q is not a decimal number", ErrMalformed, truncate(s))
	}
	return Amount{text: s}, nil
}

// MustAmount is like [ParseAmount] but panics on an invalid amount. It is
// meant for constants in tests and examples.
func MustAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// String returns the amount's text as received ("10.50"), or "" for the
// zero Amount.
func (a Amount) String() string { return a.text }

// IsZero reports whether a is the zero Amount, that is, no amount at all. An
// amount of "0" is not zero in this sense.
func (a Amount) IsZero() bool { return a.text == "" }

// Canonical returns the amount's shortest plain form: "10.50" → "10.5",
// "10.00" → "10", "1e3" → "1000". It returns "" for the zero Amount.
func (a Amount) Canonical() string {
	c, _ := decimal.Canonical(a.text) // a.text is valid or empty
	return c
}

// Cmp compares a and b as numbers, returning -1, 0 or +1. The zero Amount
// sorts before every number.
func (a Amount) Cmp(b Amount) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return -1
	case b.IsZero():
		return 1
	}
	c, _ := decimal.Cmp(a.text, b.text)
	return c
}

// Equal reports whether a and b are the same number ("10.5" equals "10.50"),
// or both the zero Amount.
func (a Amount) Equal(b Amount) bool { return a.Cmp(b) == 0 }

// Rat returns the amount as an exact rational number, or nil for the zero
// Amount.
func (a Amount) Rat() *big.Rat {
	if a.IsZero() {
		return nil
	}
	r, _ := new(big.Rat).SetString(a.Canonical())
	return r
}

// MarshalJSON encodes the amount as a JSON string of its text, or null for
// the zero Amount.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a.IsZero() {
		return []byte("null"), nil
	}
	b := make([]byte, 0, len(a.text)+2)
	b = append(b, '"')
	b = append(b, a.text...) // valid decimals need no escaping
	return append(b, '"'), nil
}

// UnmarshalJSON decodes a JSON number or a JSON string holding a decimal
// number; null leaves a unchanged, as encoding/json does for other types.
func (a *Amount) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	text := data
	if len(data) >= 2 && data[0] == '"' && data[len(data)-1] == '"' {
		text = data[1 : len(data)-1]
		for _, c := range text {
			if c == '\\' { // a decimal needs no escapes: take the slow path
				s, err := strconv.Unquote(string(data))
				if err != nil {
					return fmt.Errorf("%w: amount is not a valid JSON string", ErrMalformed)
				}
				text = []byte(s)
				break
			}
		}
	}
	if !decimal.Valid(string(text)) {
		return fmt.Errorf("%w: amount %q is not a decimal number", ErrMalformed, truncate(string(text)))
	}
	a.text = string(text)
	return nil
}

// MarshalText encodes the amount's text, for form values and map keys.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.text), nil }

// UnmarshalText decodes a decimal number from text such as a form value.
func (a *Amount) UnmarshalText(text []byte) error {
	v, err := ParseAmount(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// truncate shortens attacker-supplied text before it goes into an error.
func truncate(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
