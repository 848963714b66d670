package inbox_test

import (
	"testing"

	"github.com/payhook/payhook/inbox"
	"github.com/payhook/payhook/inbox/inboxtest"
)

func TestMemoryConformance(t *testing.T) {
	inboxtest.Run(t, func(t *testing.T) inboxtest.Harness {
		return inboxtest.Harness{Backend: inbox.NewMemory()}
	})
}

func TestMemoryConformanceErrorForm(t *testing.T) {
	if err := inboxtest.Test(func() (inboxtest.Harness, error) {
		return inboxtest.Harness{Backend: inbox.NewMemory()}, nil
	}); err != nil {
		t.Fatal(err)
	}
}
