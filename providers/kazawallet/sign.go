package kazawallet

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"sync"

	"github.com/payhook/payhook/internal/secret"
)

// SignatureField is the body field that authenticates a Kazawallet
// webhook: the signature of its amount and order id ([Sign]).
const SignatureField = "secret"

// Sign returns the secret that Kazawallet puts in a webhook for amount and
// orderID, as its PHP example computes it:
//
//	base64(HMAC-SHA512(apiSecret, SHA256raw(amount + ":::" + orderID + ":::" + apiKey)))
//
// It is meant for tests and tools that play Kazawallet's part.
func Sign(apiKey, apiSecret, amount, orderID string) string {
	s := newSigner(apiKey, apiSecret)
	st := s.get()
	defer s.put(st)
	return base64.StdEncoding.EncodeToString(s.sum(st, amount, orderID))
}

// signer computes and checks signatures with a keyed HMAC that is reused
// across calls, so that a check allocates nothing. It is safe for
// concurrent use.
type signer struct {
	apiKey secret.Value
	pool   sync.Pool // of *macState
}

type macState struct {
	mac    hash.Hash // HMAC-SHA512 keyed with the API secret
	msg    []byte
	digest [sha256.Size]byte
	sum    [sha512.Size]byte
	got    [sha512.Size + 3]byte // the received secret, decoded
	in     []byte
}

func newSigner(apiKey, apiSecret string) *signer {
	s := &signer{apiKey: secret.New(apiKey)}
	key := []byte(apiSecret)
	s.pool.New = func() any { return &macState{mac: hmac.New(sha512.New, key)} }
	return s
}

func (s *signer) get() *macState   { return s.pool.Get().(*macState) }
func (s *signer) put(st *macState) { s.pool.Put(st) }

// sum returns the raw HMAC for amount and orderID, in st's memory.
func (s *signer) sum(st *macState, amount, orderID string) []byte {
	st.msg = append(st.msg[:0], amount...)
	st.msg = append(st.msg, ":::"...)
	st.msg = append(st.msg, orderID...)
	st.msg = append(st.msg, ":::"...)
	st.msg = append(st.msg, s.apiKey.Reveal()...)
	st.digest = sha256.Sum256(st.msg)
	st.mac.Reset()
	st.mac.Write(st.digest[:])
	return st.mac.Sum(st.sum[:0])
}

// strict decodes only canonical base64, as PHP's base64_encode writes it:
// the lenient decoder accepts several texts for one signature (the unused
// bits of the last character set), which makes a signature malleable.
var strict = base64.StdEncoding.Strict()

// decode decodes a received base64 secret into st.got. A form body whose
// sender left "+" unescaped arrives with spaces, which base64 never holds.
func (st *macState) decode(secret string) ([]byte, bool) {
	st.in = append(st.in[:0], secret...)
	for i, c := range st.in {
		if c == ' ' {
			st.in[i] = '+'
		}
	}
	if base64.StdEncoding.DecodedLen(len(st.in)) > len(st.got) {
		return nil, false
	}
	n, err := strict.Decode(st.got[:], st.in)
	if err != nil || n != sha512.Size {
		return nil, false
	}
	return st.got[:n], true
}

// match reports whether secret is the signature of one of amounts with
// orderID, and which. Each comparison is constant-time.
func (s *signer) match(secret, orderID string, amounts ...string) (string, bool) {
	st := s.get()
	defer s.put(st)
	got, ok := st.decode(secret)
	if !ok {
		return "", false
	}
	for _, a := range amounts {
		if a != "" && hmac.Equal(got, s.sum(st, a, orderID)) {
			return a, true
		}
	}
	return "", false
}
