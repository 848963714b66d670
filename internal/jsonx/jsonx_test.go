package jsonx

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestString(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: `"ord_1"`, want: "ord_1"},
		{in: `"caf\u00e9"`, want: "café"},
		{in: `12345`, want: "12345"},
		{in: `-1.5e3`, want: "-1.5e3"},
		{in: `null`, want: ""},
		{in: `true`, wantErr: true},
		{in: `{"a":1}`, wantErr: true},
		{in: `[1]`, wantErr: true},
	} {
		t.Run(tt.in, func(t *testing.T) {
			var v struct{ S String }
			err := json.Unmarshal([]byte(`{"S":`+tt.in+`}`), &v)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(v.S))
		})
	}
}

func TestLooseTypesNeverFail(t *testing.T) {
	for _, tt := range []struct {
		in           string
		text, amount string
		time         time.Time
		object       string
	}{
		{in: `"hello"`, text: "hello", object: `"hello"`},
		{in: `"10.50"`, text: "10.50", amount: "10.50", object: `"10.50"`, time: time.Unix(10, 5e8).UTC()},
		{in: `1000`, text: "1000", amount: "1000", object: `1000`, time: time.Unix(1000, 0).UTC()},
		{in: `true`, text: "true", object: `true`},
		{in: `null`},
		{in: `""`},
		{in: `{"a":1}`, object: `{"a":1}`},
		{in: `"{\"orderId\":\"ord_42\"}"`, text: `{"orderId":"ord_42"}`, object: `{"orderId":"ord_42"}`},
		{in: `"[1,2]"`, text: "[1,2]", object: `[1,2]`},
		{in: `"{not json"`, text: "{not json", object: `"{not json"`},
		{in: `[1,"x"]`, object: `[1,"x"]`},
		{in: `"2024-03-20T08:55:22.883Z"`, text: "2024-03-20T08:55:22.883Z", object: `"2024-03-20T08:55:22.883Z"`,
			time: time.Date(2024, 3, 20, 8, 55, 22, 883e6, time.UTC)},
		{in: `"13/07/2026"`, text: "13/07/2026", object: `"13/07/2026"`, time: time.Date(2026, 7, 13, 0, 0, 0, 0, time.UTC)},
		{in: `"2026-01-30 15:30:00"`, text: "2026-01-30 15:30:00", object: `"2026-01-30 15:30:00"`, time: time.Date(2026, 1, 30, 15, 30, 0, 0, time.UTC)},
		{in: `1769787000000`, text: "1769787000000", amount: "1769787000000", object: `1769787000000`, time: time.UnixMilli(1769787000000).UTC()},
	} {
		t.Run(tt.in, func(t *testing.T) {
			var v struct {
				T Text
				A Decimal
				M Time
				O Object
			}
			body := `{"T":` + tt.in + `,"A":` + tt.in + `,"M":` + tt.in + `,"O":` + tt.in + `}`
			require.NoError(t, json.Unmarshal([]byte(body), &v))
			assert.Equal(t, tt.text, string(v.T))
			assert.Equal(t, tt.amount, string(v.A))
			assert.True(t, tt.time.Equal(time.Time(v.M)), "time %v, want %v", time.Time(v.M), tt.time)
			assert.Equal(t, tt.object, string(v.O))
		})
	}
}

func TestIsJSON(t *testing.T) {
	assert.True(t, IsJSON([]byte(` {"a":1}`)))
	assert.False(t, IsJSON([]byte(`a=1`)))
	assert.False(t, IsJSON([]byte(`[1]`)))
	assert.False(t, IsJSON(nil))
}

func TestUnquote(t *testing.T) {
	s, ok := Unquote([]byte(`"a\"b"`))
	assert.True(t, ok)
	assert.Equal(t, `a"b`, s)
	_, ok = Unquote([]byte(`12`))
	assert.False(t, ok)
	_, ok = Unquote([]byte(`"`))
	assert.False(t, ok)
}

// FuzzDecoders: the loose types take any JSON value without an error, and
// String takes any string or number; none panics.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{`"ord_1"`, `12`, `-1.5e3`, `null`, `true`, `{"a":1}`, `"{\"a\":1}"`, `"13/07/2026"`, `1769787000000`, `"\u00e9"`, `""`, `"  "`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !json.Valid([]byte(in)) {
			return
		}
		var v struct {
			T Text
			A Decimal
			M Time
			O Object
		}
		body := `{"T":` + in + `,"A":` + in + `,"M":` + in + `,"O":` + in + `}`
		require.NoError(t, json.Unmarshal([]byte(body), &v), "loose types never fail")
		if len(v.O) > 0 {
			assert.True(t, json.Valid(v.O), "Object is JSON: %s", v.O)
		}
		var s struct{ S String }
		err := json.Unmarshal([]byte(`{"S":`+in+`}`), &s)
		trimmed := strings.TrimSpace(in)
		switch trimmed[0] {
		case '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'n':
			assert.NoError(t, err, "String takes strings, numbers and null")
		default:
			assert.Error(t, err)
		}
	})
}
