// Package testserver finds, for this repository's tests, the servers that
// scripts/test starts (Redis, PostgreSQL) and the programs they need, and
// waits for servers the tests start themselves. Without them a test is
// skipped, or fails when CI is set. It imports only the standard library.
package testserver

import (
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// URL returns the URL of a test server from the environment variable
// name, which scripts/test sets. Without it the test is skipped, or fails
// when CI is set.
func URL(t testing.TB, name string) string {
	t.Helper()
	url := os.Getenv(name)
	if url == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set, and CI is: run the tests with ./scripts/test, which starts the servers", name)
		}
		t.Skipf("%s is not set: run ./scripts/test, which starts the servers the test needs", name)
	}
	return url
}

// Command returns the path of a program. Without it the test is skipped,
// or fails when CI is set.
func Command(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not on PATH, and CI is: run the tests with ./scripts/test, which installs it", name)
		}
		t.Skipf("%s is not on PATH: run ./scripts/test, which installs it", name)
	}
	return path
}

// FreePort returns a port of 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// WaitListening waits until something accepts connections on addr: another
// process is starting, so this polls, with a deadline of 30 s.
func WaitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after 30s: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
