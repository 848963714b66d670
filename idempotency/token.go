package idempotency

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
)

// NewToken returns a token that no other call of NewToken, in this process
// or any other, returns: a claim's name for [Store.Claim], [Store.Complete]
// and [Store.Release]. Tokens tell claimers apart; they are not secrets.
//
// A token is 32 characters: a random prefix drawn from crypto/rand once per
// process, then a counter. NewToken is cheap (tens of nanoseconds) and does
// not allocate, but once in a while: tokens are cut from blocks made a
// hundred at a time. It is safe for concurrent use.
func NewToken() string {
	b := tokenBlocks.Get().(*tokenBlock)
	if b.s == "" {
		b.fill()
	}
	t := b.s[:tokenLen]
	b.s = b.s[tokenLen:]
	tokenBlocks.Put(b)
	return t
}

// tokenLen is a token's length: tokenPrefixLen random characters, then the
// counter in 16 hexadecimal digits.
const (
	tokenLen       = tokenPrefixLen + 16
	tokenPrefixLen = 16
	tokenBatch     = 128
)

var (
	// tokenPrefix is this process's: 80 random bits, so that two processes
	// sharing a store do not make the same tokens.
	tokenPrefix = sync.OnceValue(func() string { return rand.Text()[:tokenPrefixLen] })
	// tokenCount numbers the tokens of this process; a block takes
	// tokenBatch numbers at once.
	tokenCount atomic.Uint64
	// tokenBlocks holds blocks of unused tokens, one per P at most, so that
	// concurrent callers rarely share one. A block the pool drops (at a
	// garbage collection) only wastes its numbers.
	tokenBlocks = sync.Pool{New: func() any { return new(tokenBlock) }}
)

// tokenBlock is tokens not given yet, tokenLen bytes each, cut from one
// string: a token handed out keeps its block's memory (4 KiB) alive while
// it is held.
type tokenBlock struct{ s string }

func (b *tokenBlock) fill() {
	prefix := tokenPrefix()
	n := tokenCount.Add(tokenBatch) - tokenBatch
	var s strings.Builder
	s.Grow(tokenLen * tokenBatch)
	var num [8]byte
	var digits [16]byte
	for i := range uint64(tokenBatch) {
		binary.BigEndian.PutUint64(num[:], n+i)
		hex.Encode(digits[:], num[:])
		s.WriteString(prefix)
		s.Write(digits[:])
	}
	b.s = s.String()
}
