//go:build unix

package sqlitestore_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency"
	"github.com/payhook/payhook/idempotency/sqlitestore"
)

// childEnv names the file a child process of TestSIGKILL writes to.
const childEnv = "SQLITESTORE_TEST_CHILD_DB"

// TestSIGKILL runs a real child process that claims and completes keys from
// several goroutines at once, printing each key once its Complete returned
// nil, and kills it with SIGKILL in the middle of that stream. Reopened,
// the file holds every key the child printed as done, and is intact.
func TestSIGKILL(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		runChild(path) // never returns
	}
	path := filepath.Join(t.TempDir(), "payhook.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSIGKILL$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	cmd.SysProcAttr = childAttr()
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	// Kill the child once it has completed a few hundred keys, while its
	// goroutines are between claims and completions.
	const before = 300
	var done []string
	lines := bufio.NewScanner(out)
	for len(done) < before && lines.Scan() {
		done = append(done, strings.TrimPrefix(lines.Text(), "done "))
	}
	require.Len(t, done, before, "the child completed keys")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	for lines.Scan() { // printed before it died: completed too
		done = append(done, strings.TrimPrefix(lines.Text(), "done "))
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "killed, not exited")

	db := openDB(t, path)
	var integrity string
	require.NoError(t, db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity))
	assert.Equal(t, "ok", integrity)
	store := migrated(t, db)
	ctx := context.Background()
	for _, key := range done {
		state, err := store.Claim(ctx, key, idempotency.NewToken(), time.Minute)
		require.NoError(t, err)
		require.Equal(t, idempotency.Done, state, "key %s was completed before the kill", key)
	}
	t.Logf("%d completed keys survived the SIGKILL", len(done))
}

// runChild claims and completes keys from 8 goroutines until it is
// killed, printing "done <key>" after each Complete that returned nil.
func runChild(path string) {
	db, err := sqlitestore.OpenDB(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	store, err := sqlitestore.New(db)
	if err == nil {
		err = store.Migrate(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex // one line at a time on stdout
	for g := range 8 {
		go func() {
			ctx := context.Background()
			for i := 0; ; i++ {
				key, token := fmt.Sprintf("g%d-%d", g, i), idempotency.NewToken()
				state, err := store.Claim(ctx, key, token, time.Hour)
				if err == nil && state == idempotency.Acquired {
					err = store.Complete(ctx, key, token, time.Hour)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, "done", key)
				mu.Unlock()
			}
		}()
	}
	select {}
}
