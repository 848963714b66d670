//go:build unix

package testserver

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Child is the test binary run again as another process: an application
// that a crash test kills. It is started by [StartChild].
type Child struct {
	// Cmd is the running process.
	Cmd *exec.Cmd
	// Addr is the address of its first line, "listening ADDR".
	Addr  string
	lines chan string
}

// StartChild runs the test binary again, running no test, with env added
// to the test's environment; its TestMain sees env and plays the
// application. The child must print "listening ADDR" as its first line;
// its later lines are read with [Child.Next], and its stderr is the
// test's. The child is killed when the test ends (and, on Linux, when the
// test binary dies).
func StartChild(t testing.TB, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = childAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &Child{Cmd: cmd, lines: make(chan string, 1000)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "listening ") {
		t.Fatalf("the child %v did not start: %q", env, sc.Text())
	}
	c.Addr = strings.TrimPrefix(sc.Text(), "listening ")
	go func() {
		defer close(c.lines)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	return c
}

// Next returns the child's next line, waiting up to wait for it; it fails
// the test if the child ended or printed nothing in that time.
func (c *Child) Next(t testing.TB, wait time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-c.lines:
		if !ok {
			t.Fatal("the child ended")
		}
		return l
	case <-time.After(wait):
		t.Fatalf("the child printed nothing for %s", wait)
	}
	return ""
}

// Rest returns the lines the child prints until it ends.
func (c *Child) Rest() <-chan string { return c.lines }
