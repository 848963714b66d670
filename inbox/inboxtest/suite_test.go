package inboxtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/inboxtest"
)

// The suite must catch a backend that breaks the contract: each broken
// backend below is a real memory backend with one fault.

type overwritingPut struct{ *inbox.Memory }

// Put reports every entry as new, as a backend without a unique ID would.
func (b overwritingPut) Put(ctx context.Context, e inbox.Entry) (bool, error) {
	b.Memory.Put(ctx, e)
	return true, nil
}

type runsTwice struct{ *inbox.Memory }

// Run calls the handler twice for each attempt, as a backend that lets two
// workers take one entry would.
func (b runsTwice) Run(ctx context.Context, h inbox.Handler, cfg inbox.RunConfig) error {
	return b.Memory.Run(ctx, func(ctx context.Context, a inbox.Attempt) error {
		h(ctx, a)
		return h(ctx, a)
	}, cfg)
}

type retriesPermanent struct{ *inbox.Memory }

// Run retries every error, permanent or not.
func (b retriesPermanent) Run(ctx context.Context, h inbox.Handler, cfg inbox.RunConfig) error {
	return b.Memory.Run(ctx, func(ctx context.Context, a inbox.Attempt) error {
		err := h(ctx, a)
		if inbox.IsPermanent(err) {
			return errors.Unwrap(err)
		}
		return err
	}, cfg)
}

type keepsDropped struct{ *inbox.Memory }

// Run keeps a dropped entry dead, as a backend that knows only Permanent
// would.
func (b keepsDropped) Run(ctx context.Context, h inbox.Handler, cfg inbox.RunConfig) error {
	return b.Memory.Run(ctx, func(ctx context.Context, a inbox.Attempt) error {
		err := h(ctx, a)
		if inbox.IsDrop(err) {
			return inbox.Permanent(errors.Unwrap(err))
		}
		return err
	}, cfg)
}

type countsNothing struct{ *inbox.Memory }

// Unconfirmed counts nothing, as a backend without the count would.
func (countsNothing) Unconfirmed(context.Context) (int, error) { return 0, nil }

func TestSuiteCatchesBrokenBackends(t *testing.T) {
	tests := []struct {
		name    string
		backend func() inbox.Backend
		fails   string // the case that must fail
	}{
		{"put without unique IDs", func() inbox.Backend { return overwritingPut{inbox.NewMemory()} }, "PutAddsOnce"},
		{"two runs of one attempt", func() inbox.Backend { return runsTwice{inbox.NewMemory()} }, "RunMakesDone"},
		{"permanent errors retried", func() inbox.Backend { return retriesPermanent{inbox.NewMemory()} }, "PermanentIsDeadAtOnce"},
		{"dropped entries kept", func() inbox.Backend { return keepsDropped{inbox.NewMemory()} }, "DropDeletes"},
		{"unconfirmed entries not counted", func() inbox.Backend { return countsNothing{inbox.NewMemory()} }, "UnconfirmedCounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := inboxtest.Test(func() (inboxtest.Harness, error) {
				return inboxtest.Harness{Backend: tt.backend()}, nil
			})
			if err == nil || !strings.Contains(err.Error(), tt.fails+":") {
				t.Fatalf("Test passed a backend with %s, or failed elsewhere: %v", tt.name, err)
			}
		})
	}
}
