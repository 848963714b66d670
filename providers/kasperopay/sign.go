package kasperopay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
	"sync"
)

// SignatureHeader is the header that carries a webhook's signature when a
// webhook secret is configured in KasperoPay's dashboard.
const SignatureHeader = "X-KasperoPay-Signature"

// Sign returns the X-KasperoPay-Signature of body: the lowercase hex
// HMAC-SHA256 of the raw body keyed with secret. It is meant for tests and
// tools that play KasperoPay's part.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// signer checks signatures with keyed HMACs reused across calls, so that a
// check allocates nothing. It is safe for concurrent use.
type signer struct{ pool sync.Pool } // of *macState

type macState struct {
	macs []hash.Hash // one per secret
	got  [sha256.Size]byte
	sum  [sha256.Size]byte
}

// newSigner returns a signer accepting the HMAC keyed with any of secrets.
func newSigner(secrets []string) *signer {
	s := &signer{}
	s.pool.New = func() any {
		st := &macState{}
		for _, k := range secrets {
			st.macs = append(st.macs, hmac.New(sha256.New, []byte(k)))
		}
		return st
	}
	return s
}

// check reports whether sig, hex in either case and optionally prefixed
// "sha256=", is the HMAC of body with one of the secrets. Every secret is
// tried, each comparison constant-time, so that timing does not tell which
// matched.
func (s *signer) check(sig string, body []byte) bool {
	sig = strings.TrimSpace(sig)
	if len(sig) > 7 && strings.EqualFold(sig[:7], "sha256=") {
		sig = sig[7:]
	}
	st := s.pool.Get().(*macState)
	defer s.pool.Put(st)
	if !decodeHex(st.got[:], sig) {
		return false
	}
	ok := false
	for _, mac := range st.macs {
		mac.Reset()
		mac.Write(body)
		ok = hmac.Equal(st.got[:], mac.Sum(st.sum[:0])) || ok
	}
	return ok
}

// decodeHex decodes exactly len(dst) bytes of hex, either case, from s.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := fromHex(s[2*i])
		lo, ok2 := fromHex(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
