package jsonx

import (
	"encoding/json"
	"testing"
)

func TestFlat(t *testing.T) {
	tests := []struct {
		body string
		want bool
	}{
		{`{"a":"b","n":-1.5e3,"t":true,"f":false,"z":null}`, true},
		{` {} `, true},
		{`{"a":"b"}`, true},
		{`{"a":"b",}`, false},        // invalid
		{`{"a":"b"} {}`, false},      // trailing data
		{`{"a":{"b":1}}`, false},     // nested: the general path
		{`{"a":[1]}`, false},         // nested
		{`{"a":"b\"c"}`, false},      // an escape
		{`{"\u0061":"b"}`, false},    // an escaped key
		{`{"a":"b","A":"c"}`, false}, // a key twice, folded
		{`{"a":"b","a":"c"}`, false}, // a key twice
		{`{"ſ":"b"}`, false},         // a non-ASCII key
		{"{\"a\":\"\xff\"}", false},  // invalid UTF-8
		{"{\"a\":\"b\tc\"}", false},  // a control character
		{`{"a":01}`, false},          // not a JSON number
		{`{"a":1.}`, false},          // not a JSON number
		{`{"a":tru}`, false},         // not a literal
		{`["a"]`, false},             // not an object
		{``, false},                  //
	}
	for _, tt := range tests {
		var keys []string
		got := Flat([]byte(tt.body), func(k, v []byte) bool {
			keys = append(keys, string(k))
			return true
		})
		if got != tt.want {
			t.Errorf("Flat(%q) = %t, want %t", tt.body, got, tt.want)
		}
		if got && !json.Valid([]byte(tt.body)) {
			t.Errorf("Flat took %q, which is not valid JSON", tt.body)
		}
	}
	// f's false stops it.
	if Flat([]byte(`{"a":1,"b":2}`), func(k, v []byte) bool { return string(k) != "b" }) {
		t.Error("Flat ignored f's false")
	}
}

func TestFlatString(t *testing.T) {
	for in, want := range map[string]string{`"abc"`: "abc", `null`: "", `""`: ""} {
		if got, ok := FlatString([]byte(in)); !ok || got != want {
			t.Errorf("FlatString(%s) = %q, %t", in, got, ok)
		}
	}
	for _, in := range []string{`1`, `true`, `false`} {
		if _, ok := FlatString([]byte(in)); ok {
			t.Errorf("FlatString(%s) took a non-string, which json refuses for a string field", in)
		}
	}
}
