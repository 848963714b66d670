package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

var update = flag.Bool("update", false, "write the screenshots to docs/img")

// The merchant's test credentials, given to serve and to the sandbox alike.
var credentials = []string{
	"KAZAWALLET_API_KEY=test_api_key", "KAZAWALLET_API_SECRET=test_api_secret",
	"KKIAPAY_WEBHOOK_SECRET=hash_secret", "KKIAPAY_PUBLIC_KEY=pk_test", "KKIAPAY_PRIVATE_KEY=tpk_test", "KKIAPAY_SECRET_KEY=tsk_test",
	"KASPEROPAY_WEBHOOK_SECRET=kasperopay_secret",
}

// TestBrowser builds payhook, runs payhook serve and payhook sandbox as
// processes, and pays through the sandbox's checkout pages in headless
// Chromium, as a developer would.
func TestBrowser(t *testing.T) {
	chromium := findChromium(t)
	bin := buildPayhook(t)
	t.Cleanup(func() { // after the processes stopped
		for _, f := range []string{"payhook.db", "payhook.db-wal", "payhook.db-shm"} {
			if _, err := os.Stat(f); err == nil {
				t.Errorf("payhook serve left %s in the package's directory: run it in a temporary one", f)
			}
		}
	})

	sandboxAddr := freeAddr(t)
	sandboxURL := "http://" + sandboxAddr
	env := append(baseEnv(), credentials...)
	serve := start(t, bin, append(env, "PAYHOOK_ADDR=127.0.0.1:0", "PAYHOOK_ADMIN_ADDR=127.0.0.1:0", "KKIAPAY_API_URL="+sandboxURL, "KASPEROPAY_API_URL="+sandboxURL), "serve")
	serveAddr := serve.listening(t)

	// KKiaPay's webhooks go to a merchant that answers 500 three times,
	// then hands the delivery to serve.
	var mu sync.Mutex
	calls := 0
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n <= 3 {
			http.Error(w, fmt.Sprintf("merchant down (call %d)", n), http.StatusInternalServerError)
			return
		}
		forward(w, r, "http://"+serveAddr+"/webhooks/kkiapay")
	}))
	defer merchant.Close()
	sandbox := start(t, bin, append(env, "PAYHOOK_ADDR="+serveAddr), "sandbox", "--addr", sandboxAddr, "--kkiapay-webhook", merchant.URL+"/kkiapay")
	sandbox.listening(t)

	ctx := browser(t, chromium)
	shots := t.TempDir()
	if *update {
		shots = filepath.Join("..", "..", "..", "docs", "img")
	}

	t.Run("kazawallet link paid", func(t *testing.T) {
		cl, err := kazawallet.NewClient("test_api_key", kazawallet.WithBaseURL(sandboxURL+"/wallet"))
		require.NoError(t, err)
		link, err := cl.CreatePaymentLink(ctx, kazawallet.PaymentLinkRequest{
			Amount: payhook.MustAmount("10.00"), Currency: "USD", Email: "merchant@example.com", Ref: "order-42",
			RedirectURL: "https://shop.example/return?kazawallet=success",
		})
		require.NoError(t, err)
		var shot []byte
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Navigate(link.URL),
			chromedp.WaitVisible(`button[value="pay"]`),
			chromedp.CaptureScreenshot(&shot),
			press("pay"),
		))
		savePNG(t, filepath.Join(shots, "sandbox-checkout.png"), shot)
		e := serve.event(t, func(e event) bool { return e.Provider == "kazawallet" && e.Event["ref"] == "order-42" })
		assert.Equal(t, "fulfilled", e.Event["status"])
		assert.Equal(t, "10.00", e.Event["amount"])
	})

	t.Run("kasperopay payment confirmed", func(t *testing.T) {
		require.NoError(t, chromedp.Run(ctx,
			startPayment(sandboxURL, "kasperopay", "amount", "12.5", "order_id", "ord_browser"),
			press("pay"),
		))
		e := serve.event(t, func(e event) bool { return e.Provider == "kasperopay" && e.Event["order_id"] == "ord_browser" })
		assert.Equal(t, true, e.Event["signed"])
		confirmed, _ := e.Event["confirmation"].(map[string]any)
		require.NotNil(t, confirmed, "serve confirmed the payment with the sandbox's status API")
		assert.Equal(t, "completed", confirmed["status"])
		assert.Equal(t, e.Event["transaction_id"], confirmed["txid"])
	})

	t.Run("kkiapay failure retried four times", func(t *testing.T) {
		require.NoError(t, chromedp.Run(ctx,
			startPayment(sandboxURL, "kkiapay", "amount", "2500", "partnerId", "cust-7"),
			chromedp.SetValue(`#checkout-failure_code`, "insufficient_fund"),
			press("fail"),
		))
		// KKiaPay waits 500 ms, 1 s and 1.5 s between the attempts: poll
		// the attempts page, served by another process, until the fourth.
		var rows int
		var outcome string
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			require.NoError(t, chromedp.Run(ctx,
				chromedp.Navigate(sandboxURL+"/payments"),
				chromedp.Evaluate(`document.querySelectorAll('article[id^="kkiapay-"] tbody tr').length`, &rows),
				chromedp.Text(`article[id^="kkiapay-"] .delivery .badge`, &outcome),
			))
			if strings.HasPrefix(outcome, "Acknowledged") {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		assert.Equal(t, 4, rows, "four attempts on the attempts page")
		assert.Equal(t, "Acknowledged on attempt 4", outcome)
		var answers string
		require.NoError(t, chromedp.Run(ctx, chromedp.Text(`article[id^="kkiapay-"] tbody`, &answers)))
		assert.Equal(t, 3, strings.Count(answers, "500 Internal Server Error"), answers)
		assert.Contains(t, answers, "merchant down (call 3)")
		assert.Contains(t, answers, "1.5s")

		var shot []byte
		require.NoError(t, chromedp.Run(ctx, chromedp.EmulateViewport(1000, 1145), chromedp.CaptureScreenshot(&shot)))
		savePNG(t, filepath.Join(shots, "sandbox-attempts.png"), shot)

		e := serve.event(t, func(e event) bool { return e.Provider == "kkiapay" && e.Event["partnerId"] == "cust-7" })
		assert.Equal(t, "transaction.failed", e.Event["event"])
		assert.Equal(t, "insufficient_fund", e.Event["failureCode"])
		confirmation, _ := e.Event["confirmation"].(map[string]any)
		require.NotNil(t, confirmation, "serve confirmed the failure with the sandbox's status API")
		assert.Equal(t, "FAILED", confirmation["status"])
	})
}

// startPayment fills the form of provider on the sandbox's home page with
// fields (name, value, ...), submits it, and waits for the checkout page.
func startPayment(base, provider string, fields ...string) chromedp.Tasks {
	tasks := chromedp.Tasks{chromedp.Navigate(base + "/")}
	for i := 0; i+1 < len(fields); i += 2 {
		tasks = append(tasks, chromedp.SetValue("#"+provider+"-"+fields[i], fields[i+1]))
	}
	return append(tasks,
		chromedp.Click(`form[action="/checkout/`+provider+`"] button`),
		chromedp.WaitVisible(`button[name="action"]`))
}

// press presses a checkout button and waits for the page of the settled
// payment, with its webhooks.
func press(action string) chromedp.Tasks {
	return chromedp.Tasks{chromedp.Click(`button[value="` + action + `"]`), chromedp.WaitVisible(`#deliveries-title`)}
}

// findChromium finds Debian's chromium. Without it the test is skipped,
// or fails under CI.
func findChromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: ./scripts/test installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed: apt-get install chromium, or run ./scripts/test")
	return ""
}

// buildPayhook builds the payhook command into a temporary directory.
func buildPayhook(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "payhook")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = ".." // cmd/payhook
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// baseEnv is this process's environment without payhook's variables.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PAYHOOK_") && !strings.HasPrefix(name, "KAZAWALLET_") &&
			!strings.HasPrefix(name, "KKIAPAY_") && !strings.HasPrefix(name, "KASPEROPAY_") {
			env = append(env, kv)
		}
	}
	return env
}

// freeAddr is an address of 127.0.0.1 where nothing listens now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// forward hands a delivery to url and copies its answer back.
func forward(w http.ResponseWriter, r *http.Request, url string) {
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, url, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	w.WriteHeader(res.StatusCode)
	io.Copy(w, res.Body)
}

// browser starts headless Chromium for the test, with the flags that keep
// it off the network, which this machine does not have.
func browser(t *testing.T, chromium string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 760),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(cancelBrowser)
	require.NoError(t, chromedp.Run(ctx), "start chromium")
	return ctx
}

// savePNG checks that b is a PNG and writes it to path.
func savePNG(t *testing.T, path string, b []byte) {
	t.Helper()
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, 1000, cfg.Width)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// proc is payhook running as a process.
type proc struct {
	stdout, stderr *output
}

// start runs bin with args and env until the test ends, in a temporary
// directory (where serve keeps its default store, payhook.db), then stops
// it with SIGTERM as a terminal's Ctrl-C would, and checks that it exits
// cleanly.
func start(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &output{}, stderr: &output{}}
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	cmd.Env, cmd.Stdout, cmd.Stderr = env, p.stdout, p.stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			assert.NoError(t, err, "payhook %s exits cleanly\n%s", args[0], p.stderr)
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("payhook %s did not stop", args[0])
		}
	})
	return p
}

// listening waits for the process to listen, and returns its address.
func (p *proc) listening(t *testing.T) string {
	t.Helper()
	var addr string
	p.stderr.waitFor(t, func(s string) bool {
		_, after, ok := strings.Cut(s, `listening" addr=`)
		addr, _, _ = strings.Cut(after, " ")
		return ok
	})
	return addr
}

// event is a line that payhook serve prints for a processed event.
type event struct {
	Provider string         `json:"provider"`
	Key      string         `json:"key"`
	Event    map[string]any `json:"event"`
}

// event waits for serve to print an event that match accepts.
func (p *proc) event(t *testing.T, match func(event) bool) event {
	t.Helper()
	var found event
	p.stdout.waitFor(t, func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			var e event
			if json.Unmarshal([]byte(line), &e) == nil && match(e) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// output collects what a process writes, for waiting on.
type output struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next Write
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitFor waits until done holds of what was written, for at most 20
// seconds: the process is another program, so this is the deadline of a
// failing test, not a timing.
func (o *output) waitFor(t *testing.T, done func(string) bool) {
	t.Helper()
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	for {
		o.mu.Lock()
		s := o.b.String()
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		o.mu.Unlock()
		if done(s) {
			return
		}
		select {
		case <-changed:
		case <-timer.C:
			t.Fatalf("not seen within 20s; got:\n%s", s)
		}
	}
}
