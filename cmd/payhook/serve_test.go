package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/providers/kazawallet"
)

// pkgDir is this package's directory, where go test starts.
var pkgDir string

// TestMain lets a test run this binary's main, as a real process. The tests
// run in a temporary working directory, since serve's default store is a
// file there.
func TestMain(m *testing.M) {
	if os.Getenv("PAYHOOK_TEST_MAIN") == "1" {
		main()
		return
	}
	var err error
	pkgDir, err = os.Getwd()
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "payhook-test-")
	if err != nil {
		panic(err)
	}
	if err := os.Chdir(dir); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer is a bytes.Buffer that the server and the test share.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next Write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor waits until done holds of what was written, or fails the test
// after timeout.
func (s *syncBuffer) waitFor(t *testing.T, timeout time.Duration, done func(string) bool) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		out := s.b.String()
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		if done(out) {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("not written within %s; got:\n%s", timeout, out)
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// serveEnv is serve with the configuration that getenv holds, loaded as
// run loads it, its admin listener on a free port unless getenv says
// otherwise; ready, when not nil, receives the public address.
func serveEnv(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	cfg, err := loadConfig(func(name string) string {
		if v := getenv(name); v != "" || name != "PAYHOOK_ADMIN_ADDR" {
			return v
		}
		return "127.0.0.1:0"
	})
	if err != nil {
		return err
	}
	var addrs chan serveAddrs
	if ready != nil {
		addrs = make(chan serveAddrs, 1)
		defer close(addrs)
		go func() {
			if a, ok := <-addrs; ok {
				ready <- a.public
			}
		}()
	}
	return serve(ctx, args, cfg, stdout, stderr, addrs)
}

// sandboxWith is runSandbox with the configuration that getenv holds.
func sandboxWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	return runSandbox(ctx, args, cfg, stdout, stderr, ready)
}

// startServe runs serve in-process on a free port until the test ends.
func startServe(t *testing.T, vars map[string]string) (base string, stdout, stderr *syncBuffer) {
	t.Helper()
	srv := startServeAll(t, vars)
	return srv.base, srv.stdout, srv.stderr
}

// served is a serve started by startServeAll.
type served struct {
	base, admin    string // http://ADDR of the public and the admin listeners
	stdout, stderr *syncBuffer
}

// startServeAll runs serve in-process on free ports (the public and the
// admin listeners') until the test ends. edit, when given, changes the
// configuration loaded from vars (what no variable sets: the limits).
func startServeAll(t *testing.T, vars map[string]string, edit ...func(*config)) served {
	t.Helper()
	vars["PAYHOOK_ADDR"] = "127.0.0.1:0"
	if _, ok := vars["PAYHOOK_ADMIN_ADDR"]; !ok {
		vars["PAYHOOK_ADMIN_ADDR"] = "127.0.0.1:0"
	}
	if _, ok := vars["PAYHOOK_STORE"]; !ok {
		vars["PAYHOOK_STORE"] = "memory" // unset is a file in the working directory, shared by every test
	}
	cfg, err := loadConfig(env(vars))
	require.NoError(t, err)
	for _, e := range edit {
		e(cfg)
	}
	admin := make(chan string, 1)
	base, stdout, stderr := startInProcess(t, func(ctx context.Context, stdout, stderr io.Writer, ready chan<- string) error {
		addrs := make(chan serveAddrs, 1)
		go func() {
			if a, ok := <-addrs; ok {
				admin <- a.admin
				ready <- a.public
			}
		}()
		defer close(addrs)
		return serve(ctx, nil, cfg, stdout, stderr, addrs)
	})
	srv := served{base: base, stdout: stdout, stderr: stderr}
	if a := <-admin; a != "" {
		srv.admin = "http://" + a
	}
	return srv
}

// startInProcess runs a command in-process until the test ends, then
// stops it as SIGINT would and checks that it shuts down gracefully. It
// returns the command's base URL once it listens, and its output.
func startInProcess(t *testing.T, run func(ctx context.Context, stdout, stderr io.Writer, ready chan<- string) error) (base string, stdout, stderr *syncBuffer) {
	t.Helper()
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, stdout, stderr, ready) }()
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("%v\n%s", err, stderr)
	}
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done, "graceful shutdown")
		assert.Contains(t, stderr.String(), "shutting down")
	})
	return base, stdout, stderr
}

func postJSON(t *testing.T, url, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

var kazawalletEnv = map[string]string{"KAZAWALLET_API_KEY": "test_api_key", "KAZAWALLET_API_SECRET": "test_api_secret"}

func kazawalletWebhook(orderID, amount string) string {
	return `{"order_id":"` + orderID + `","amount":"` + amount + `","status":"fulfilled","currency":"USD","ref":"r1","secret":"` +
		kazawallet.Sign("test_api_key", "test_api_secret", amount, orderID) + `"}`
}

// printedLine is a line that serve prints for a processed event.
type printedLine struct {
	Provider string
	Key      string
	Event    map[string]any
}

// readLines decodes what serve printed on stdout, one event a line.
func readLines(t *testing.T, out string) []printedLine {
	t.Helper()
	var lines []printedLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var rec printedLine
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		lines = append(lines, rec)
	}
	return lines
}

func TestServeKazawallet(t *testing.T) {
	vars := map[string]string{}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	base, stdout, stderr := startServe(t, vars)
	url := base + "/webhooks/kazawallet"

	code, _ := postJSON(t, url, kazawalletWebhook("ord_1", "10.00"))
	assert.Equal(t, http.StatusOK, code)
	code, _ = postJSON(t, url, kazawalletWebhook("ord_1", "10.00"))
	assert.Equal(t, http.StatusOK, code, "the duplicate is acknowledged")
	code, body := postJSON(t, url, strings.Replace(kazawalletWebhook("ord_2", "10.00"), `"10.00"`, `"99.00"`, 1))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "Unauthorized\n", body)

	lines := readLines(t, stdout.String())
	require.Len(t, lines, 1, "one line per processed event; the duplicate prints nothing:\n%s", stdout)
	rec := lines[0]
	assert.Equal(t, "kazawallet", rec.Provider)
	assert.Equal(t, "ord_1", rec.Key)
	assert.Equal(t, "ord_1", rec.Event["order_id"])
	assert.Equal(t, "10.00", rec.Event["amount"])
	assert.Equal(t, "fulfilled", rec.Event["status"])
	assert.NotContains(t, stdout.String(), "secret")
	assert.NotContains(t, stdout.String()+stderr.String(), kazawallet.Sign("test_api_key", "test_api_secret", "10.00", "ord_1"))
	assert.NotContains(t, stdout.String()+stderr.String(), "test_api_secret")

	logs := stderr.String()
	assert.Contains(t, logs, "duplicate delivery acknowledged")
	assert.Contains(t, logs, "delivery rejected")
	assert.Contains(t, logs, "secret does not match", "the reason is logged")

	res, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	res, err = http.Get(url)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
}

func TestServeRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"nothing configured", map[string]string{}, "no provider configured"},
		{"key without secret", map[string]string{"KAZAWALLET_API_KEY": "k"}, "KAZAWALLET_API_KEY set without KAZAWALLET_API_SECRET"},
		{"lists that do not pair", map[string]string{"KAZAWALLET_API_KEY": "k1,k2", "KAZAWALLET_API_SECRET": "s1"}, "hold 2 and 1 values"},
		{"secret without key", map[string]string{"KAZAWALLET_API_SECRET": "s"}, "KAZAWALLET_API_SECRET set without KAZAWALLET_API_KEY"},
		{"unknown store", map[string]string{"KAZAWALLET_API_KEY": "k", "KAZAWALLET_API_SECRET": "s", "PAYHOOK_STORE": "mongodb://u:hunter2@h/db"}, "unknown store"},
		{"arguments", map[string]string{"KAZAWALLET_API_KEY": "k", "KAZAWALLET_API_SECRET": "s", "args": "x"}, "takes no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.vars["args"] != "" {
				args = []string{tt.vars["args"]}
			}
			tt.vars["PAYHOOK_ADDR"] = "127.0.0.1:0"
			err := serveEnv(context.Background(), args, env(tt.vars), io.Discard, io.Discard, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), nil, env(nil), &out, &errOut))
	assert.Contains(t, errOut.String(), "usage: payhook")
	assert.Equal(t, 2, run(context.Background(), []string{"frobnicate"}, env(nil), &out, &errOut))
	assert.Contains(t, errOut.String(), `unknown command "frobnicate"`)
	assert.Equal(t, 0, run(context.Background(), []string{"help"}, env(nil), &out, &errOut))
	assert.Contains(t, out.String(), "serve")
	assert.Equal(t, 1, run(context.Background(), []string{"serve"}, env(nil), &out, &errOut))
}

// TestServeProcessStopsOnSIGTERM runs the real binary and stops it as an
// orchestrator would.
func TestServeProcessStopsOnSIGTERM(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "serve")
			cmd.Env = append(os.Environ(), "PAYHOOK_TEST_MAIN=1", "PAYHOOK_ADDR=127.0.0.1:0", "PAYHOOK_ADMIN_ADDR=127.0.0.1:0", "PAYHOOK_STORE=memory",
				"KAZAWALLET_API_KEY=test_api_key", "KAZAWALLET_API_SECRET=test_api_secret")
			stderr, err := cmd.StderrPipe()
			require.NoError(t, err)
			var stdout syncBuffer
			cmd.Stdout = &stdout
			require.NoError(t, cmd.Start())
			sc := bufio.NewScanner(stderr)
			var addr string
			for sc.Scan() {
				if _, a, ok := strings.Cut(sc.Text(), "addr="); ok {
					addr, _, _ = strings.Cut(a, " ")
					break
				}
			}
			require.NotEmpty(t, addr, "the server logs its address")
			code, _ := postJSON(t, "http://"+addr+"/webhooks/kazawallet", kazawalletWebhook("ord_sig", "5"))
			assert.Equal(t, http.StatusOK, code)

			require.NoError(t, cmd.Process.Signal(sig))
			var rest strings.Builder
			for sc.Scan() {
				rest.WriteString(sc.Text() + "\n")
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				assert.NoError(t, err, "exit status 0 after a graceful shutdown")
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("payhook did not stop")
			}
			assert.Contains(t, rest.String(), "shutting down")
			assert.Contains(t, stdout.String(), `"key":"ord_sig"`)
		})
	}
}
