package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestExpectCmd adds, lists and cancels expectations in a SQLite store, as
// an operator does beside serve.
func TestExpectCmd(t *testing.T) {
	store := "sqlite:" + filepath.Join(t.TempDir(), "payhook.db")
	conn, err := openConn(context.Background(), store, slog.New(slog.DiscardHandler)) // as serve creates it
	require.NoError(t, err)
	conn.close()
	vars := map[string]string{"PAYHOOK_STORE": store}
	expectRun := func(args ...string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"expect"}, args...), env(vars), &out, &errOut)
		return out.String(), errOut.String(), code
	}
	out, _, code := expectRun("add", "kkiapay", "--id", "tx_1", "--ref", "order_1", "--amount", "1000", "--currency", "XOF", "--deadline", "2h")
	require.Equal(t, 0, code)
	var x expectationLine
	require.NoError(t, json.Unmarshal([]byte(out), &x))
	assert.Equal(t, "pending", x.State)
	assert.WithinDuration(t, time.Now().Add(2*time.Hour), x.Deadline, time.Minute)
	require.NotNil(t, x.NextPoll)
	assert.WithinDuration(t, time.Now(), *x.NextPoll, time.Minute, "due at once")

	_, errOut, code := expectRun("add", "--ref", "order_2", "kazawallet", "--amount", "10.00", "--currency", "USD")
	require.Equal(t, 0, code, errOut)
	_, errOut, code = expectRun("add", "kkiapay", "--ref", "order_3", "--amount", "1", "--currency", "XOF")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "cannot be polled")
	_, errOut, code = expectRun("add", "kkiapay", "--id", "tx_1", "--amount", "1", "--currency", "XOF")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "expectation exists")

	out, _, code = expectRun("list")
	require.Equal(t, 0, code)
	assert.Equal(t, 3, strings.Count(out, "\n"), out)
	for _, field := range []string{`"provider":"kkiapay"`, `"id":"tx_1"`, `"ref":"order_1"`, `"amount":"1000"`, `"currency":"XOF"`, `"deadline":`, `"state":"pending"`} {
		assert.Contains(t, out, field)
	}
	out, _, _ = expectRun("list", "--provider", "kazawallet")
	assert.Equal(t, 1, strings.Count(out, "\n"), out)

	out, _, code = expectRun("cancel", "kkiapay", "tx_1")
	assert.Equal(t, 0, code)
	assert.Equal(t, "cancelled kkiapay:tx_1\n", out)
	out, _, code = expectRun("cancel", "kazawallet", "--ref", "order_2")
	assert.Equal(t, 0, code)
	assert.Equal(t, "cancelled kazawallet:ref=order_2\n", out)
	_, errOut, code = expectRun("cancel", "kkiapay", "tx_9")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no such expectation")
	out, _, _ = expectRun("list", "--state", "cancelled")
	assert.Equal(t, 2, strings.Count(out, "\n"), out)
	out, _, _ = expectRun("list", "--overdue")
	assert.Empty(t, out)
}
