package acmepay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payhook/payhook"
)

// SignatureHeader is the header that authenticates an AcmePay webhook.
const SignatureHeader = "Acme-Signature"

// Sign returns the Acme-Signature of body sent at t with secret:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">". It is meant for
// tests and tools that play AcmePay's part.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac([]byte(secret), ts, body))
}

func mac(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// signer checks signatures against every secret. The keys sit in a
// closure, out of reach of fmt's reflection.
type signer struct {
	macs func(ts string, body []byte) [][]byte
}

func newSigner(secrets []string) *signer {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	return &signer{macs: func(ts string, body []byte) [][]byte {
		out := make([][]byte, len(keys))
		for i, k := range keys {
			out[i] = mac(k, ts, body)
		}
		return out
	}}
}

// check parses the header and compares its v1 with the HMAC of every
// secret, in constant time each, and returns the signed time.
func (s *signer) check(header string, body []byte) (time.Time, error) {
	var ts, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	got, herr := hex.DecodeString(v1)
	if err != nil || herr != nil || len(got) != sha256.Size {
		return time.Time{}, fmt.Errorf("acmepay: %w: no usable %s header", payhook.ErrInvalidSignature, SignatureHeader)
	}
	ok := false
	for _, want := range s.macs(ts, body) {
		ok = hmac.Equal(got, want) || ok
	}
	if !ok {
		return time.Time{}, fmt.Errorf("acmepay: %w: %s does not match the body", payhook.ErrInvalidSignature, SignatureHeader)
	}
	return time.Unix(sec, 0), nil
}
