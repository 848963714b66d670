package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Unmarshal is json.Unmarshal for a webhook body that something verified,
// refusing what encoding/json would read differently from another parser:
//
//   - an object holding one key twice, or two keys equal under Unicode
//     case folding ("status" and "Status", or "ſtatus", whose long s folds
//     to s): encoding/json keeps the last, other parsers the first;
//   - a key of the top-level object that names one of v's fields only
//     case-insensitively ("Amount" for a field tagged "amount"): encoding/json
//     matches it, a parser that compares keys exactly does not.
//
// Either way the application re-reading the body could see another order
// or amount than the one verified. v must be a pointer to a struct, as for
// the providers' wire types. Errors of the first kind and the second are
// ErrDuplicateKey and ErrFoldedKey.
func Unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	return CheckKeys(data, fieldNames(reflect.TypeOf(v)))
}

// ErrDuplicateKey and ErrFoldedKey are the errors of [Unmarshal] and
// [CheckKeys].
var (
	ErrDuplicateKey = errors.New("jsonx: duplicate key")
	ErrFoldedKey    = errors.New("jsonx: key matches a field only by case")
)

// CheckKeys checks data, valid JSON, for objects holding one key twice
// (compared as encoding/json compares them: Unicode simple case folding),
// and for keys of the top-level object that are one of fields only by case.
func CheckKeys(data []byte, fields []string) error {
	s := keyScanner{data: data, fields: fields}
	return s.value(0)
}

// keyScanner walks valid JSON. It allocates only for keys holding escapes
// and for objects with many keys.
type keyScanner struct {
	data   []byte
	i      int
	fields []string
}

func (s *keyScanner) ws() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// value skips one value, checking the keys of the objects in it.
func (s *keyScanner) value(depth int) error {
	s.ws()
	if s.i >= len(s.data) {
		return nil
	}
	switch s.data[s.i] {
	case '{':
		return s.object(depth)
	case '[':
		s.i++
		for {
			s.ws()
			if s.i >= len(s.data) || s.data[s.i] == ']' {
				s.i++
				return nil
			}
			if err := s.value(depth + 1); err != nil {
				return err
			}
			s.ws()
			if s.i < len(s.data) && s.data[s.i] == ',' {
				s.i++
			}
		}
	case '"':
		s.str()
	default: // number, true, false, null
		for s.i < len(s.data) && !strings.ContainsRune(",]} \t\r\n", rune(s.data[s.i])) {
			s.i++
		}
	}
	return nil
}

// str skips a string at s.i, returning its raw contents and whether they
// hold an escape.
func (s *keyScanner) str() (raw []byte, escaped bool) {
	start := s.i + 1
	for s.i = start; s.i < len(s.data); s.i++ {
		switch s.data[s.i] {
		case '\\':
			escaped = true
			s.i++
		case '"':
			raw = s.data[start:s.i]
			s.i++
			return raw, escaped
		}
	}
	return s.data[start:], escaped
}

// manyKeys is the number of keys beyond which an object's keys are kept in
// a map rather than compared pairwise.
const manyKeys = 16

func (s *keyScanner) object(depth int) error {
	s.i++ // {
	var small [manyKeys][]byte
	seen := small[:0]
	var many map[string]struct{}
	for {
		s.ws()
		if s.i >= len(s.data) || s.data[s.i] == '}' {
			s.i++
			return nil
		}
		raw, escaped := s.str()
		key := raw
		if escaped {
			var k string
			if json.Unmarshal(s.data[s.i-len(raw)-2:s.i], &k) == nil {
				key = []byte(k)
			}
		}
		switch {
		case many != nil:
			f := fold(key)
			if _, dup := many[f]; dup {
				return fmt.Errorf("%w %.40q", ErrDuplicateKey, key)
			}
			many[f] = struct{}{}
		default:
			for _, k := range seen {
				if bytes.EqualFold(k, key) {
					return fmt.Errorf("%w %.40q", ErrDuplicateKey, key)
				}
			}
			if len(seen) < manyKeys {
				seen = append(seen, key)
				break
			}
			many = make(map[string]struct{}, 2*manyKeys)
			for _, k := range seen {
				many[fold(k)] = struct{}{}
			}
			many[fold(key)] = struct{}{}
		}
		if depth == 0 {
			if err := s.field(key); err != nil {
				return err
			}
		}
		s.ws()
		s.i++ // :
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.i < len(s.data) && s.data[s.i] == ',' {
			s.i++
		}
	}
}

// field refuses a top-level key that is a field's name only by case.
func (s *keyScanner) field(key []byte) error {
	for _, f := range s.fields {
		if string(key) == f {
			return nil
		}
	}
	for _, f := range s.fields {
		if bytes.EqualFold(key, []byte(f)) {
			return fmt.Errorf("%w: %.40q is not %q", ErrFoldedKey, key, f)
		}
	}
	return nil
}

// fold returns a string equal for two keys exactly when bytes.EqualFold
// holds for them: each rune is replaced by the least rune of its case
// folding orbit (invalid UTF-8 by U+FFFD, as bytes.EqualFold reads it).
func fold(key []byte) string {
	var b strings.Builder
	b.Grow(len(key))
	for len(key) > 0 {
		r, n := utf8.DecodeRune(key)
		key = key[n:]
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// fieldNames returns the JSON names of the fields of the struct t points
// to, as encoding/json reads them, cached per type.
func fieldNames(t reflect.Type) []string {
	if names, ok := fieldCache.Load(t); ok {
		return names.([]string)
	}
	st := t
	for st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	var names []string
	if st.Kind() == reflect.Struct {
		for i := range st.NumField() {
			f := st.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch name {
			case "-":
				continue
			case "":
				name = f.Name
			}
			names = append(names, name)
		}
	}
	fieldCache.Store(t, names)
	return names
}

var fieldCache sync.Map // reflect.Type → []string
