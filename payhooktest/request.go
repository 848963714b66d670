package payhooktest

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/payhook/payhook"
)

// forgedKey is the key the builders' Forged methods sign with, unless it
// is the merchant's own.
const forgedKey = "payhooktest-forged-key"

// forged returns a key that is not secret.
func forged(secret string) string {
	if secret == forgedKey {
		return forgedKey + "-2"
	}
	return forgedKey
}

// newRequest returns a POST of body to target, re-sendable (GetBody is
// set). A target without a host (a path such as "/webhooks/kkiapay") gets
// httptest.NewRequest's Host and RemoteAddr, for serving in process; an
// absolute URL is sent as it is. It panics on a target that is not a URL,
// as httptest.NewRequest does.
func newRequest(target string, body []byte, contentType string) *http.Request {
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

// number returns a's text as a JSON number: as it is when it is one, else
// its canonical form ("007" is a decimal but not a JSON number). The zero
// Amount gives "".
func number(a payhook.Amount) json.Number {
	if s := a.String(); s == "" || json.Valid([]byte(s)) {
		return json.Number(s)
	}
	return json.Number(a.Canonical())
}

// text returns a's text, or nil for the zero Amount, for fields sent as a
// JSON string or null.
func text(a payhook.Amount) *string {
	if a.IsZero() {
		return nil
	}
	s := a.String()
	return &s
}

// orNull returns nil for "", for fields a provider sends as null.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// mustJSON encodes v, which holds only encodable values.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("payhooktest: " + err.Error())
	}
	return b
}
