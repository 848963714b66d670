package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/payhook/payhook/inbox"
)

// A done entry's last attempt succeeded: inbox list shows no last_error
// for it, though an earlier attempt failed (issue 20 §12). An entry still
// pending or dead shows its last attempt's error, URLs redacted.
func TestListLastErrorIsTheCurrentOne(t *testing.T) {
	failed := []inbox.AttemptError{{Attempt: 1, At: time.Now(), Error: "forward: http://app.example/hooks?token=s3cret: connection refused"}}
	entry := inbox.Entry{ID: "kazawallet:ord_1", Provider: "kazawallet", Key: "ord_1"}

	done := lineOf(inbox.Info{Entry: entry, State: inbox.Done, Attempts: 2, Errors: failed})
	assert.Empty(t, done.LastError, "the error of an attempt before the one that succeeded")
	assert.Equal(t, 2, done.Attempts, "the attempts still count the failed one")
	if assert.Len(t, done.Errors, 1, "the failed attempt kept as history") {
		assert.Equal(t, "forward: http://app.example/hooks?token=xxxxx: connection refused", done.Errors[0].Error)
		assert.Equal(t, 1, done.Errors[0].Attempt)
	}
	assert.Contains(t, failed[0].Error, "s3cret", "the entry's own errors untouched")

	for _, state := range []inbox.State{inbox.Pending, inbox.Dead} {
		line := lineOf(inbox.Info{Entry: entry, State: state, Attempts: 1, Errors: failed})
		assert.Equal(t, "forward: http://app.example/hooks?token=xxxxx: connection refused", line.LastError, state)
	}
}
