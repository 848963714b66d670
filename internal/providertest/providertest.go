// Package providertest holds what the providers' test kits
// (providers/<name>/<name>test) share and do not offer their users: the
// forged key, requests for a handler in process, and the helpers of their
// fake APIs' answers. What the kits offer is in package payhooktest, and
// what payhook send and the sandbox share with them in the provider
// packages (their Sender) and package deliver.
package providertest

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
)

// forgedKey is the key that [ForgedKey] returns, unless it is the
// merchant's own.
const forgedKey = "payhooktest-forged-key"

// ForgedKey returns a key that is not secret: what someone who does not
// know secret signs with. The kits' Forged methods use it.
func ForgedKey(secret string) string {
	if secret == forgedKey {
		return forgedKey + "-2"
	}
	return forgedKey
}

// Request returns r, built by a provider's Sender.NewRequest, as the
// kits' Request methods return it: it panics on err (a target that is not
// a URL), as httptest.NewRequest does, and a target without a host (a path
// such as "/webhooks/kkiapay") gets httptest.NewRequest's Host and
// RemoteAddr, for serving in process.
func Request(r *http.Request, err error) *http.Request {
	if err != nil {
		panic("payhooktest: " + err.Error())
	}
	if r.URL.Host == "" {
		r.Host = "example.com"
		r.RemoteAddr = "192.0.2.1:1234"
	}
	return r
}

// Must returns b, or panics with err: for the kits' Body methods, which
// fail only on an event holding invalid JSON (a json.RawMessage field).
func Must(b []byte, err error) []byte {
	if err != nil {
		panic("payhooktest: " + err.Error())
	}
	return b
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

// ReadBody returns r's body, through r.GetBody when set (as the Senders'
// requests set it), so that r can be sent again.
func ReadBody(r *http.Request) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("no request")
	}
	rc := r.Body
	if r.GetBody != nil {
		var err error
		if rc, err = r.GetBody(); err != nil {
			return nil, err
		}
	}
	if rc == nil {
		return nil, nil
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// NotFoundPage is the answer to a request for a path a provider's API
// does not have: 404 with the HTML page an Express server answers
// ("Cannot POST /x"), as the providers' APIs do. It is what a wrong base
// URL or path gets.
func NotFoundPage(r *http.Request) (status int, body string) {
	return http.StatusNotFound, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head>" +
		"<body><pre>Cannot " + r.Method + " " + html.EscapeString(r.URL.Path) + "</pre></body></html>\n"
}

// WrongPayload answers 500 for an answer whose payload the fake of
// provider cannot encode (another provider's): a mistake in the test.
func WrongPayload(w http.ResponseWriter, provider string, payload any) {
	WriteBody(w, http.StatusInternalServerError, fmt.Sprintf("payhooktest: the %s fake cannot answer with a %T\n", provider, payload))
}

// WriteBody answers status and body, with the Content-Type its first byte
// suggests: JSON, HTML or text.
func WriteBody(w http.ResponseWriter, status int, body string) {
	switch {
	case body == "":
	case body[0] == '{' || body[0] == '[':
		w.Header().Set("Content-Type", "application/json")
	case body[0] == '<':
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
}
