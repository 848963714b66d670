package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestExpectCmdRefuses: payhook expect refuses what it cannot do before it
// opens a store, and the memory store, which lives in serve's process.
func TestExpectCmdRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"no command", []string{}, nil, "expect: no command"},
		{"unknown command", []string{"remove"}, nil, `unknown command "remove"`},
		{"no provider", []string{"add", "--id", "x", "--amount", "1", "--currency", "XOF"}, nil, "want 1 argument"},
		{"unknown provider", []string{"add", "paypal", "--id", "x", "--amount", "1", "--currency", "USD"}, nil, `unknown provider "paypal"`},
		{"no id nor ref", []string{"add", "kkiapay", "--amount", "1", "--currency", "XOF"}, nil, "give --id, --ref or both"},
		{"no amount", []string{"add", "kkiapay", "--id", "x", "--currency", "XOF"}, nil, "--amount and --currency are required"},
		{"no deadline", []string{"add", "kkiapay", "--id", "x", "--amount", "1", "--currency", "XOF", "--deadline", "0s"}, nil, "--deadline"},
		{"bad state", []string{"list", "--state", "lost"}, nil, `unknown state "lost"`},
		{"overdue and state", []string{"list", "--overdue", "--state", "settled"}, nil, "give one"},
		{"list args", []string{"list", "kkiapay"}, nil, "want 0 argument"},
		{"cancel no id", []string{"cancel", "kkiapay"}, nil, "want 2 argument"},
		{"memory", []string{"list"}, map[string]string{"PAYHOOK_STORE": "memory"}, "PAYHOOK_STORE=memory: the memory expectations live in the serve process"},
		{"no file", []string{"list"}, map[string]string{"PAYHOOK_STORE": "sqlite:" + t.TempDir() + "/none.db"}, "payhook serve creates it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"expect"}, tc.args...), env(tc.vars), &out, &errOut)
			assert.Equal(t, 1, code)
			assert.Contains(t, errOut.String(), tc.want)
			assert.Empty(t, out.String())
		})
	}
}

func TestExpectCmdHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run(context.Background(), []string{"expect", "-h"}, env(nil), &out, &errOut))
	for _, s := range []string{"add PROVIDER (--id ID | --ref REF) --amount AMOUNT --currency CURRENCY [--deadline DURATION]",
		"list [--overdue]", "cancel PROVIDER ID"} {
		assert.Contains(t, errOut.String(), s)
	}
	out.Reset()
	assert.Equal(t, 0, run(context.Background(), []string{"help"}, env(nil), &out, &errOut))
	assert.Contains(t, out.String(), "expect   add, list and cancel")
}
