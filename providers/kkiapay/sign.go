package kkiapay

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/payhook/payhook"
)

// SignatureHeader is the header that authenticates a KKiaPay webhook:
// x-kkiapay-secret, in net/http's canonical form (the name is
// case-insensitive). It carries the hash secret itself ([Sign]).
const SignatureHeader = "X-Kkiapay-Secret"

// Sign returns the value of SignatureHeader that KKiaPay sends with the
// hash secret hashSecret: the secret itself, for KKiaPay signs nothing. It
// is meant for tests and tools that play KKiaPay's part.
func Sign(hashSecret string) string { return hashSecret }

// secrets holds the SHA-256 digests of the accepted hash secrets, behind a
// pointer so that printing a Provider value shows none of them.
type secrets struct{ digests [][sha256.Size]byte }

// secretValue returns the header's value. Several copies of it are accepted
// only when they are identical (a proxy repeating it); differing copies are
// refused, since KKiaPay sends one. A header map not built by net/http may
// hold the name in any case.
func secretValue(h http.Header) (string, error) {
	vs := h[SignatureHeader]
	if vs == nil {
		for k, v := range h {
			if strings.EqualFold(k, SignatureHeader) {
				vs = append(vs, v...)
			}
		}
	}
	if len(vs) == 0 || vs[0] == "" {
		return "", fmt.Errorf("kkiapay: %w: no %s header", payhook.ErrInvalidSignature, SignatureHeader)
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return "", fmt.Errorf("kkiapay: %w: %s header repeated with different values", payhook.ErrInvalidSignature, SignatureHeader)
		}
	}
	return vs[0], nil
}

// match compares got with every secret, in constant time and without
// stopping at a match, so that timing reveals neither whether nor which
// secret matched. Comparing SHA-256 digests, all of one length, keeps the
// secrets' lengths from showing too.
func (s *secrets) match(got string) bool {
	sum := sha256.Sum256([]byte(got))
	ok := 0
	for i := range s.digests {
		ok |= subtle.ConstantTimeCompare(sum[:], s.digests[i][:])
	}
	return ok == 1
}
