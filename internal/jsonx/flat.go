package jsonx

import (
	"bytes"
	"unicode/utf8"
)

// Flat is the fast path of a decoder for the common webhook body: one JSON
// object whose values are all strings, numbers, true, false or null, with
// plain ASCII keys. It calls f with each member's key and raw value (a
// string with its quotes, a number, true, false or null), in order, and
// reports whether it read the whole body that way.
//
// It reports false, having perhaps called f for some members, for every
// body it does not handle: any other shape, a key with an escape or a
// non-ASCII byte, a string that is not plain valid UTF-8 without control
// characters, a key twice (ASCII case-insensitively), invalid JSON, or f
// returning false. The caller then decodes the body with [Unmarshal],
// which answers for those: so Flat never decides a refusal, and f must
// read each value exactly as encoding/json would (see [FlatString]), which
// the providers' fuzz tests check against Unmarshal.
func Flat(data []byte, f func(key, value []byte) bool) bool {
	var seen [16][]byte
	n := 0
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipWS(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipWS(data, i+1) == len(data)
	}
	for {
		key, j, ok := plainString(data, i)
		if !ok || !asciiOnly(key) {
			return false
		}
		if n == len(seen) {
			return false // many keys: the general path
		}
		for _, k := range seen[:n] {
			if asciiEqualFold(k, key) {
				return false
			}
		}
		seen[n] = key
		n++
		i = skipWS(data, j)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipWS(data, i+1)
		end, ok := scalar(data, i)
		if !ok || !f(key, data[i:end]) {
			return false
		}
		i = skipWS(data, end)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipWS(data, i+1)
		case '}':
			return skipWS(data, i+1) == len(data)
		default:
			return false
		}
	}
}

// FlatString returns the string a raw value of Flat holds, as encoding/json
// reads it into a string field: a plain string's contents, or "" for null
// (json leaves the field as it was, and Flat's callers start from zero).
// It reports false for a number, true or false, which json refuses for a
// string field.
func FlatString(value []byte) (string, bool) {
	switch {
	case len(value) >= 2 && value[0] == '"':
		return string(value[1 : len(value)-1]), true
	case string(value) == "null":
		return "", true
	}
	return "", false
}

func skipWS(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainString reads a JSON string at data[i] that holds no escape, no
// control character and only valid UTF-8: its contents and the index after
// its closing quote.
func plainString(data []byte, i int) (s []byte, end int, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}
	j := bytes.IndexByte(data[i+1:], '"')
	if j < 0 {
		return nil, 0, false
	}
	s = data[i+1 : i+1+j]
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return nil, 0, false
		}
	}
	if !utf8.Valid(s) {
		return nil, 0, false
	}
	return s, i + 2 + j, true
}

// scalar returns the index after the scalar value at data[i].
func scalar(data []byte, i int) (int, bool) {
	if i >= len(data) {
		return 0, false
	}
	switch c := data[i]; {
	case c == '"':
		_, end, ok := plainString(data, i)
		return end, ok
	case c == 't':
		return literal(data, i, "true")
	case c == 'f':
		return literal(data, i, "false")
	case c == 'n':
		return literal(data, i, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		return number(data, i)
	}
	return 0, false
}

func literal(data []byte, i int, lit string) (int, bool) {
	if bytes.HasPrefix(data[i:], []byte(lit)) {
		return i + len(lit), true
	}
	return 0, false
}

// number reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(data []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		return i
	}
	if data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		i = digits(i)
	default:
		return 0, false
	}
	if i < len(data) && data[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func asciiOnly(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiEqualFold(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
