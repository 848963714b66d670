package jsonx

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/payhook/payhook/internal/decimal"
)

// The types below are for the fields of a webhook that the receiver can do
// without: a value of an unexpected type is read as zero instead of
// failing the whole decode, since rejecting a delivery over a label would
// lose a real payment. They never return an error. encoding/json has
// validated the value before it calls them, so it is not empty.

// Text reads a JSON string as its contents and a number or boolean as its
// literal; null, objects and arrays give "".
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case '"':
		s, _ := Unquote(data)
		*t = Text(s)
	case '{', '[', 'n':
		*t = ""
	default:
		*t = Text(data)
	}
	return nil
}

// Decimal reads a decimal number ("10.50", 1e3) from a JSON string or
// number, exactly as written: a string's contents, a number's literal. Any
// other value (null, "", "n/a", an object) gives "". A provider turns it
// into a payhook.Amount with payhook.ParseAmount, which accepts every
// non-empty Decimal.
type Decimal string

// UnmarshalJSON implements json.Unmarshaler.
func (d *Decimal) UnmarshalJSON(data []byte) error {
	var s Text
	_ = s.UnmarshalJSON(data)
	*d = ""
	if (data[0] == '"' || data[0] == '-' || '0' <= data[0] && data[0] <= '9') && decimal.Valid(string(s)) {
		*d = Decimal(s)
	}
	return nil
}

// Time reads a time from a JSON string or number in any form a provider
// has been seen to use: RFC 3339 and ISO 8601 variants, SQL-like
// "2006-01-02 15:04:05", dates ("2006-01-02", "02/01/2006" day first), and
// Unix seconds or milliseconds. Forms without a zone are UTC. Anything else
// is the zero time.
type Time time.Time

// timeLayouts are tried in order.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
	"02/01/2006",
	"02/01/2006 15:04:05",
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(data []byte) error {
	var s Text
	_ = s.UnmarshalJSON(data)
	*t = Time(ParseTime(strings.TrimSpace(string(s))))
	return nil
}

// ParseTime parses s as Time does, returning the zero time when no form
// fits.
func ParseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if '0' <= s[0] && s[0] <= '9' && !strings.ContainsAny(s, "-:/") {
		n, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil || n <= 0 || n > 1e15:
			return time.Time{}
		case n >= 1e11: // milliseconds: 1e11 seconds is the year 5138
			return time.UnixMilli(int64(n)).UTC()
		default:
			return time.Unix(int64(n), int64((n-float64(int64(n)))*1e9)).UTC()
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Object is free-form JSON that a provider sends as an object or, depending
// on its version, as a JSON-encoded string holding one: both give the
// object's JSON. A string holding an array gives the array; any other
// string is kept as a JSON string; null and "" give nil.
type Object json.RawMessage

// UnmarshalJSON implements json.Unmarshaler.
func (o *Object) UnmarshalJSON(data []byte) error {
	switch data[0] {
	case 'n':
		*o = nil
	case '"':
		s, _ := Unquote(data)
		inner := bytes.TrimSpace([]byte(s))
		switch {
		case len(inner) == 0:
			*o = nil
		case (inner[0] == '{' || inner[0] == '[') && json.Valid(inner):
			*o = inner
		default:
			*o = append(Object(nil), data...)
		}
	default:
		*o = append(Object(nil), data...)
	}
	return nil
}

// Unquote returns the contents of a JSON string, and false for any other
// JSON value.
func Unquote(data []byte) (string, bool) {
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
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
