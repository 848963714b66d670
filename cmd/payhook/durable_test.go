//go:build unix

package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// built is the payhook binary, built once for every test of the package.
var built struct {
	once sync.Once
	bin  string
	err  error
}

// buildPayhook builds this command, once for the package, into the
// tests' working directory (removed by TestMain), and returns the binary's
// path.
func buildPayhook(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("go is not on PATH, and CI is")
		}
		t.Skip("go is not on PATH: the test builds payhook")
	}
	built.once.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			built.err = err
			return
		}
		built.bin = filepath.Join(wd, "bin", "payhook")
		build := exec.Command(gobin, "build", "-o", built.bin, ".")
		build.Dir = pkgDir
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, built.err)
	return built.bin
}

// process is a running payhook serve.
type process struct {
	cmd    *exec.Cmd
	addr   string
	stdout *syncBuffer
	stderr *logWatch

	exited   chan error // cmd.Wait's
	waitOnce sync.Once
	waitErr  error
}

// logWatch keeps what serve logs, and hands over its start-up line.
type logWatch struct {
	syncBuffer
	once      sync.Once
	listening chan string
}

func (w *logWatch) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	for _, line := range strings.SplitAfter(w.String(), "\n") {
		if strings.HasSuffix(line, "\n") && strings.Contains(line, "addr=") {
			w.once.Do(func() { w.listening <- line })
		}
	}
	return n, err
}

// startBinary runs bin serve in dir, with env (and PAYHOOK_STORE unset),
// and waits for its start-up log line, which it returns.
func startBinary(t *testing.T, bin, dir string, env ...string) (*process, string) {
	t.Helper()
	p := &process{stdout: &syncBuffer{}, stderr: &logWatch{listening: make(chan string, 1)}, exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PAYHOOK_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, p.cmd.Start())
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.wait()
	})
	select {
	case line := <-p.stderr.listening:
		_, a, _ := strings.Cut(line, "addr=")
		p.addr, _, _ = strings.Cut(a, " ")
		return p, line
	case err := <-p.exited:
		p.waitOnce.Do(func() { p.waitErr = err })
		t.Fatalf("serve exited at start: %v\n%s", err, p.stderr.String())
		return nil, ""
	}
}

// wait waits for p to end (its output copied) and returns cmd.Wait's error.
func (p *process) wait() error {
	p.waitOnce.Do(func() { p.waitErr = <-p.exited })
	return p.waitErr
}

// stop signals p and waits for it to end: nil if it exited with 0.
func (p *process) stop(t *testing.T, sig syscall.Signal) *exec.ExitError {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(sig))
	var exit *exec.ExitError
	if err := p.wait(); err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return exit
}

// kill kills p with SIGKILL and fails the test, saying msgAndArgs, unless
// that signal ended it.
func (p *process) kill(t *testing.T, msgAndArgs ...any) {
	t.Helper()
	exit := p.stop(t, syscall.SIGKILL)
	require.NotNil(t, exit, msgAndArgs...)
	require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "killed, not exited")
}

// TestServeDurableByDefault is issue 12's proof: payhook serve, the built
// binary, with no PAYHOOK_STORE, processes a webhook; killed with SIGKILL
// and started again in the same directory, it answers the same webhook
// "already processed" and prints nothing.
func TestServeDurableByDefault(t *testing.T) {
	bin := buildPayhook(t)
	dir := t.TempDir()
	env := []string{"PAYHOOK_ADDR=127.0.0.1:0", "PAYHOOK_ADMIN_ADDR=127.0.0.1:0", "KAZAWALLET_API_KEY=test_api_key", "KAZAWALLET_API_SECRET=test_api_secret"}
	body := kazawalletWebhook("ord_durable", "10.00")

	first, listening := startBinary(t, bin, dir, env...)
	assert.Contains(t, listening, "store=sqlite:"+filepath.Join(dir, "payhook.db"), "the start-up line names the file")
	code, _ := postJSON(t, "http://"+first.addr+"/webhooks/kazawallet", body)
	require.Equal(t, http.StatusOK, code)
	exit := first.stop(t, syscall.SIGKILL)
	require.NotNil(t, exit)
	assert.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal(), "killed, not exited")
	lines := readLines(t, first.stdout.String())
	require.Len(t, lines, 1, "processed once")
	assert.Equal(t, "ord_durable", lines[0].Key)
	assert.FileExists(t, filepath.Join(dir, "payhook.db"))

	second, _ := startBinary(t, bin, dir, env...)
	code, answer := postJSON(t, "http://"+second.addr+"/webhooks/kazawallet", body)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "already processed\n", answer, "remembered across the SIGKILL")
	assert.Nil(t, second.stop(t, syscall.SIGTERM), "a graceful shutdown")
	assert.Empty(t, second.stdout.String(), "the duplicate printed nothing")
	assert.Contains(t, second.stderr.String(), "duplicate delivery acknowledged")
}
