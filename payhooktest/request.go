package payhooktest

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/payhook/payhook"
)

// forgedKey is the key that [ForgedKey] returns, unless it is the
// merchant's own.
const forgedKey = "payhooktest-forged-key"

// ForgedKey returns a key that is not secret: what someone who does not
// know secret signs with. The test kits' Forged methods use it.
func ForgedKey(secret string) string {
	if secret == forgedKey {
		return forgedKey + "-2"
	}
	return forgedKey
}

// NewRequest returns a POST of body to target with Content-Type
// contentType, re-sendable (GetBody is set), as the test kits' builders
// make each webhook. A target without a host (a path such as
// "/webhooks/kkiapay") gets httptest.NewRequest's Host and RemoteAddr, for
// serving in process; an absolute URL is sent as it is. It panics on a
// target that is not a URL, as httptest.NewRequest does.
func NewRequest(target string, body []byte, contentType string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		panic("payhooktest: invalid target: " + err.Error())
	}
	if r.URL.Host == "" {
		r.Host = "example.com"
		r.RemoteAddr = "192.0.2.1:1234"
	}
	r.Header.Set("Content-Type", contentType)
	return r
}

// Number returns a's text as a JSON number, for the test kits' wire
// formats: as it is when it is one, else its canonical form ("007" is a
// decimal but not a JSON number). The zero Amount gives "".
func Number(a payhook.Amount) json.Number {
	if s := a.String(); s == "" || json.Valid([]byte(s)) {
		return json.Number(s)
	}
	return json.Number(a.Canonical())
}

// MustJSON encodes v, which must hold only encodable values; it panics
// otherwise.
func MustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("payhooktest: " + err.Error())
	}
	return b
}
