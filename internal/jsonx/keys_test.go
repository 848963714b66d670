package jsonx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type wireForKeys struct {
	OrderID string `json:"order_id"`
	Amount  string `json:"amount"`
	Status  string `json:"status"`
	Ignored string `json:"-"`
	Plain   string
}

// TestDuplicateKeysRefused (issue 8, finding 3): encoding/json keeps the
// last of two duplicate keys and matches keys case-insensitively, so a body
// verified as one order and amount could be read as another by a parser
// that keeps the first key or compares exactly. Unmarshal refuses both.
func TestDuplicateKeysRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		body string
		want error // nil: accepted
	}{
		{"plain", `{"order_id":"o1","amount":"10","status":"fulfilled"}`, nil},
		{"unknown keys", `{"order_id":"o1","extra":{"a":1,"b":[1,{"c":2}]}}`, nil},
		{"field without tag", `{"Plain":"x"}`, nil},
		{"same key in two objects", `{"order_id":"o1","x":{"order_id":"o2"},"y":[{"a":1},{"a":2}]}`, nil},
		{"escaped key, no duplicate", `{"order\u005fid":"o1"}`, nil},
		{"duplicate key", `{"order_id":"o1","amount":"10","amount":"1000"}`, ErrDuplicateKey},
		{"duplicate unknown key", `{"note":"a","note":"b"}`, ErrDuplicateKey},
		{"duplicate in capitals", `{"amount":"10","AMOUNT":"1000"}`, ErrDuplicateKey},
		{"duplicate through long s", `{"status":"timed_out","ſtatus":"fulfilled"}`, ErrDuplicateKey},
		{"duplicate through Kelvin sign", `{"kind":"a","\u212aind":"b"}`, ErrDuplicateKey},
		{"duplicate through an escape", `{"order_id":"o1","order\u005fid":"o2"}`, ErrDuplicateKey},
		{"duplicate in a nested object", `{"order_id":"o1","meta":{"a":1,"a":2}}`, ErrDuplicateKey},
		{"duplicate in an array's object", `{"items":[{"price":"1"},{"price":"2","Price":"3"}]}`, ErrDuplicateKey},
		{"field only by case", `{"Amount":"1000"}`, ErrFoldedKey},
		{"field only by long s", `{"ſtatus":"fulfilled"}`, ErrFoldedKey},
		{"untagged field in lower case", `{"plain":"x"}`, ErrFoldedKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var w wireForKeys
			err := Unmarshal([]byte(tt.body), &w)
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tt.want)
		})
	}
}

// TestDuplicateKeysManyKeys: beyond manyKeys keys an object's keys are kept
// in a map; duplicates are found there too, folded the same way.
func TestDuplicateKeysManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 40 {
		fmt.Fprintf(&b, `"k%d":%d,`, i, i)
	}
	ok := b.String() + `"last":0}`
	require.NoError(t, CheckKeys([]byte(ok), nil))
	assert.ErrorIs(t, CheckKeys([]byte(b.String()+`"K3":0}`), nil), ErrDuplicateKey)
	assert.ErrorIs(t, CheckKeys([]byte(b.String()+`"\u212a39":0}`), nil), ErrDuplicateKey)
}

func TestCheckKeysAllocations(t *testing.T) {
	body := []byte(`{"order_id":"o1","amount":"10.00","status":"fulfilled","currency":"USD","ref":"r","secret":"abc=="}`)
	fields := []string{"order_id", "amount", "status", "currency", "ref", "secret"}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = CheckKeys(body, fields) }))
}

// duplicates is the fuzz oracle: encoding/json's own tokenizer, with every
// object's keys compared by bytes.EqualFold.
func duplicates(data []byte) (bool, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	type frame struct {
		object bool
		keys   []string
		key    bool // the next token is a key
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if s, ok := tok.(string); ok {
				for _, k := range top.keys {
					if bytes.EqualFold([]byte(k), []byte(s)) {
						return true, nil
					}
				}
				top.keys = append(top.keys, s)
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			if top != nil && top.object {
				top.key = true
			}
			stack = append(stack, &frame{object: true, key: true})
			continue
		case json.Delim('['):
			if top != nil && top.object {
				top.key = true
			}
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			continue
		}
		if top != nil && top.object {
			top.key = true
		}
	}
}

// FuzzCheckKeys: on any valid JSON, CheckKeys finds a duplicate exactly
// when encoding/json's tokenizer, comparing keys by bytes.EqualFold, does;
// it never panics.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{`{"a":1,"A":2}`, `{"a":{"b":1,"b":2}}`, `[{"ſ":1,"s":2}]`, `{"a\u0041":1,"aa":2}`, `"x"`, `{}`,
		`{"a":[1,2,{"a":1}],"b":"\"}"}`, `{"k":1,"\u212a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		want, err := duplicates(data)
		require.NoError(t, err)
		got := CheckKeys(data, nil)
		assert.Equal(t, want, errors.Is(got, ErrDuplicateKey), "%s: %v", data, got)
	})
}
