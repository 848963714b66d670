package main

import (
	"testing"

	"github.com/payhook/payhook/examples/internal/apptest"
)

func TestWebhooks(t *testing.T) { apptest.Run(t, NewServer) }
