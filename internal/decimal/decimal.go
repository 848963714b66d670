// Package decimal works on decimal numbers held as text, so that amounts
// never pass through a float.
package decimal

import (
	"errors"
	"strings"
)

// MaxExponent bounds the exponent accepted in "1e3" forms, so that a hostile
// "1e999999999" cannot make Canonical build a huge string.
const MaxExponent = 64

// ErrSyntax reports text that is not a decimal number.
var ErrSyntax = errors.New("decimal: invalid syntax")

// Valid reports whether s is a decimal number: an optional minus sign,
// digits, an optional fraction and an optional exponent, as in JSON
// ("10", "-0.5", "1e3"), with the exponent at most MaxExponent in size.
func Valid(s string) bool {
	_, _, _, _, ok := split(s)
	return ok
}

// split breaks s into sign, integer digits, fraction digits and exponent.
func split(s string) (neg bool, intPart, frac string, exp int, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == start {
		return false, "", "", 0, false
	}
	intPart = s[start:i]
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == fs {
			return false, "", "", 0, false
		}
		frac = s[fs:i]
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		es := i
		for i < len(s) && isDigit(s[i]) {
			exp = exp*10 + int(s[i]-'0')
			if exp > MaxExponent {
				return false, "", "", 0, false
			}
			i++
		}
		if i == es {
			return false, "", "", 0, false
		}
		if eneg {
			exp = -exp
		}
	}
	return neg, intPart, frac, exp, i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Canonical returns the shortest plain form of s: no exponent, no leading
// zeros, no trailing fractional zeros, no "-0" ("010.50" → "10.5",
// "1e3" → "1000", "-0.0" → "0").
func Canonical(s string) (string, error) {
	neg, intPart, frac, exp, ok := split(s)
	if !ok {
		return "", ErrSyntax
	}
	if isCanonical(neg, intPart, frac) && !strings.ContainsAny(s, "eE") { // "1e0" is not
		return s, nil // the common case allocates nothing
	}
	digits := intPart + frac
	point := len(intPart) + exp // position of the decimal point in digits
	switch {
	case point <= 0:
		digits = strings.Repeat("0", 1-point) + digits
		point = 1
	case point > len(digits):
		digits += strings.Repeat("0", point-len(digits))
	}
	intPart = strings.TrimLeft(digits[:point], "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(digits[point:], "0")
	if intPart == "0" && frac == "" {
		neg = false
	}
	var b strings.Builder
	b.Grow(len(intPart) + len(frac) + 2)
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(intPart)
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String(), nil
}

func isCanonical(neg bool, intPart, frac string) bool {
	if len(intPart) > 1 && intPart[0] == '0' {
		return false
	}
	if frac != "" && frac[len(frac)-1] == '0' {
		return false
	}
	return !(neg && intPart == "0" && frac == "")
}

// Fixed returns the canonical form of s with exactly places fraction digits
// ("10" → "10.00" for places 2). It reports false when s has more fraction
// digits than places: Fixed pads, it never rounds.
func Fixed(s string, places int) (string, bool) {
	c, err := Canonical(s)
	if err != nil {
		return "", false
	}
	dot := strings.IndexByte(c, '.')
	have := 0
	if dot >= 0 {
		have = len(c) - dot - 1
	}
	if have > places {
		return "", false
	}
	if have == places {
		return c, true
	}
	var b strings.Builder
	b.Grow(len(c) + places - have + 1)
	b.WriteString(c)
	if dot < 0 {
		b.WriteByte('.')
	}
	for range places - have {
		b.WriteByte('0')
	}
	return b.String(), true
}

// Cmp compares the numbers a and b, returning -1, 0 or +1. Both must be
// Valid; Cmp reports an error otherwise.
func Cmp(a, b string) (int, error) {
	ca, err := Canonical(a)
	if err != nil {
		return 0, err
	}
	cb, err := Canonical(b)
	if err != nil {
		return 0, err
	}
	if ca == cb {
		return 0, nil
	}
	na, nb := ca[0] == '-', cb[0] == '-'
	switch {
	case na && !nb:
		return -1, nil
	case !na && nb:
		return 1, nil
	}
	c := cmpAbs(strings.TrimPrefix(ca, "-"), strings.TrimPrefix(cb, "-"))
	if na {
		c = -c
	}
	return c, nil
}

// cmpAbs compares two canonical non-negative decimals.
func cmpAbs(a, b string) int {
	ai, af, _ := strings.Cut(a, ".")
	bi, bf, _ := strings.Cut(b, ".")
	if len(ai) != len(bi) {
		if len(ai) < len(bi) {
			return -1
		}
		return 1
	}
	if c := strings.Compare(ai, bi); c != 0 {
		return c
	}
	return strings.Compare(af, bf) // no trailing zeros, so text order is numeric order
}
