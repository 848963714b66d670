package browsertest

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

// TestOperatorPage runs payhook serve forwarding to an application that
// fails, and drives the operator's page on its admin listener in headless
// Chromium: the dead event is listed, a search by its reference finds it,
// a form of another site cannot discard it, Replay delivers it once the
// application is mended, and the event's page shows every attempt. It
// takes the screenshots of docs/operator.md.
func TestOperatorPage(t *testing.T) {
	chromium := findChromium(t)
	bin := buildPayhook(t)

	var healthy atomic.Bool
	var calls atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if !healthy.Load() {
			http.Error(w, fmt.Sprintf("shop down (call %d)", n), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer app.Close()

	env := append(baseEnv(), credentials...)
	serve := start(t, bin, append(env, "PAYHOOK_ADDR=127.0.0.1:0", "PAYHOOK_ADMIN_ADDR=127.0.0.1:0",
		"PAYHOOK_STORE=sqlite:"+filepath.Join(t.TempDir(), "payhook.db"),
		"PAYHOOK_FORWARD_URL="+app.URL+"/webhooks", "PAYHOOK_FORWARD_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"PAYHOOK_INBOX_ATTEMPTS=3", "PAYHOOK_INBOX_BACKOFF=10ms"), "serve")
	addr := serve.listening(t)
	admin := "http://" + serve.adminListening(t)

	// One paid order arrives and is forwarded at once; one fails three
	// times and is dead.
	sender := kazawallet.Sender{APIKey: "test_api_key", APISecret: "test_api_secret"}
	healthy.Store(true)
	send(t, sender, "http://"+addr+"/webhooks/kazawallet", kazawallet.Event{OrderID: "ord_ok_41", Ref: "order-41",
		Amount: payhook.MustAmount("5.00"), Currency: "USD", Type: kazawallet.Fulfilled})
	serve.event(t, func(e event) bool { return e.Key == "ord_ok_41" })
	healthy.Store(false)
	send(t, sender, "http://"+addr+"/webhooks/kazawallet", kazawallet.Event{OrderID: "ord_dead_42", Ref: "order-42",
		Amount: payhook.MustAmount("10.00"), Currency: "USD", Type: kazawallet.Fulfilled})

	ctx := browser(t, chromium)
	shots := t.TempDir()
	if *update {
		shots = filepath.Join("..", "..", "..", "docs", "img")
	}

	t.Run("the dead event is listed", func(t *testing.T) {
		var dead string
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(admin+"/"), chromedp.Text(`.summary`, &dead)))
			dead = strings.Join(strings.Fields(dead), " ")
			if strings.Contains(dead, "1 dead") {
				break
			}
			time.Sleep(100 * time.Millisecond) // the inbox retries in another process
		}
		require.Contains(t, dead, "1 dead")
		var list string
		require.NoError(t, chromedp.Run(ctx, chromedp.Text(`#dead`, &list)))
		assert.Contains(t, list, "kazawallet ord_dead_42")
		assert.Contains(t, list, "10.00 USD")
		assert.Contains(t, list, "ref order-42")
		assert.Contains(t, list, "shop down (call 4)")
		var shot []byte
		require.NoError(t, chromedp.Run(ctx, chromedp.EmulateViewport(1000, 1200), chromedp.CaptureScreenshot(&shot)))
		savePNG(t, filepath.Join(shots, "operator-page.png"), shot)
	})

	t.Run("a search by reference finds it", func(t *testing.T) {
		var rows string
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Navigate(admin+"/"),
			chromedp.SetValue(`#q`, "order-42"),
			chromedp.Submit(`#q`),
			chromedp.WaitVisible(`table.events`),
			chromedp.Text(`table.events tbody`, &rows),
		))
		assert.Contains(t, rows, "ord_dead_42")
		assert.NotContains(t, rows, "ord_ok_41")
	})

	t.Run("a form of another site is refused", func(t *testing.T) {
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<!DOCTYPE html><form method="post" action="%s/discard"><input type="hidden" name="id" value="kazawallet:ord_dead_42">`+
				`<input type="hidden" name="confirm" value="discard"><button id="go" type="submit">Win a prize</button></form>`, admin)
		}))
		defer evil.Close()
		var body string
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Navigate(evil.URL),
			chromedp.Click(`#go`),
			chromedp.WaitVisible(`main`),
			chromedp.Text(`main`, &body),
		))
		assert.Contains(t, body, "Forbidden")
		assert.Contains(t, body, "a form of another site cannot replay or discard events")
		require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(admin+"/"), chromedp.Text(`#dead`, &body)))
		assert.Contains(t, body, "ord_dead_42", "still there")
	})

	t.Run("discard says what it costs", func(t *testing.T) {
		var warning string
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Navigate(admin+"/"),
			chromedp.Click(`#dead button.danger`),
			chromedp.WaitVisible(`.warning`),
			chromedp.Text(`.warning`, &warning),
		))
		assert.Contains(t, warning, "the payment is gone")
		var shot []byte
		require.NoError(t, chromedp.Run(ctx, chromedp.EmulateViewport(1000, 700), chromedp.CaptureScreenshot(&shot)))
		savePNG(t, filepath.Join(shots, "operator-discard.png"), shot)
	})

	t.Run("replay delivers it", func(t *testing.T) {
		healthy.Store(true)
		var state string
		require.NoError(t, chromedp.Run(ctx,
			chromedp.Navigate(admin+"/"),
			chromedp.Click(`#dead button.primary`),
			chromedp.WaitVisible(`.flash`),
		))
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			require.NoError(t, chromedp.Run(ctx, chromedp.Reload(), chromedp.Text(`h1 .badge`, &state)))
			if state == "done" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		require.Equal(t, "done", state)
		e := serve.event(t, func(e event) bool { return e.Key == "ord_dead_42" })
		assert.Equal(t, "order-42", e.Event["ref"])

		var attempts []string
		require.NoError(t, chromedp.Run(ctx, chromedp.Evaluate(
			`[...document.querySelectorAll('table.attempts tbody tr')].map(r => r.innerText)`, &attempts)))
		require.Len(t, attempts, 4, "three failed attempts and the one that delivered it")
		for i, a := range attempts[:3] {
			assert.Contains(t, a, fmt.Sprintf("shop down (call %d)", i+2), a)
		}
		assert.Contains(t, attempts[3], "accepted (2xx)")
		var decoded string
		require.NoError(t, chromedp.Run(ctx, chromedp.Text(`#decoded-title + h3 + pre`, &decoded)))
		assert.Contains(t, decoded, `"ref": "order-42"`)
		var shot []byte
		require.NoError(t, chromedp.Run(ctx, chromedp.EmulateViewport(1000, 1300), chromedp.CaptureScreenshot(&shot)))
		savePNG(t, filepath.Join(shots, "operator-event.png"), shot)
	})
}

// send posts a signed Kazawallet webhook and checks that serve took it.
func send(t *testing.T, s kazawallet.Sender, target string, e kazawallet.Event) {
	t.Helper()
	req, err := s.NewRequest(target, e)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// adminListening waits for serve's admin listener, and returns its
// address.
func (p *proc) adminListening(t *testing.T) string {
	t.Helper()
	var addr string
	p.stderr.waitFor(t, func(s string) bool {
		_, after, ok := strings.Cut(s, `admin: listening" addr=`)
		addr, _, _ = strings.Cut(after, " ")
		return ok
	})
	return addr
}

// TestOperatorLogin: with the admin listener beyond loopback, behind its
// token, a browser signs in with the token in the page's form (a wrong one
// is refused), reads the page with the cookie it got, and signs out; the
// token is never in what serve writes.
func TestOperatorLogin(t *testing.T) {
	chromium := findChromium(t)
	bin := buildPayhook(t)
	const token = "5f0c1e9a7b3d4c2e8f6a0b1c2d3e4f5a"
	serve := start(t, bin, append(baseEnv(), append(credentials, "PAYHOOK_ADDR=127.0.0.1:0", "PAYHOOK_ADMIN_ADDR=0.0.0.0:0",
		"PAYHOOK_ADMIN_TOKEN="+token, "PAYHOOK_STORE=memory")...), "serve")
	serve.listening(t)
	_, port, err := net.SplitHostPort(serve.adminListening(t))
	require.NoError(t, err)
	admin := "http://127.0.0.1:" + port
	ctx := browser(t, chromium)

	var text string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(admin+"/"),
		chromedp.WaitVisible(`#token`),
		chromedp.SetValue(`#token`, token[:31]+"0"),
		chromedp.Submit(`#token`),
		chromedp.WaitVisible(`[role=alert]`),
		chromedp.Text(`main`, &text),
	))
	assert.Contains(t, text, "That is not the admin token.")

	require.NoError(t, chromedp.Run(ctx,
		chromedp.SetValue(`#token`, token),
		chromedp.Submit(`#token`),
		chromedp.WaitVisible(`.summary`),
		chromedp.Text(`main`, &text),
	))
	assert.Contains(t, text, "Operator", "signed in: the page")
	require.NoError(t, chromedp.Run(ctx, chromedp.Navigate(admin+"/metrics"), chromedp.Text(`body`, &text)))
	assert.Contains(t, text, "payhook_", "the cookie opens every admin page")

	require.NoError(t, chromedp.Run(ctx,
		chromedp.Navigate(admin+"/logout"),
		chromedp.Click(`button[type=submit]`),
		chromedp.WaitVisible(`[role=alert]`),
		chromedp.Navigate(admin+"/"),
		chromedp.WaitVisible(`#token`),
	))
	assert.NotContains(t, serve.stderr.String()+serve.stdout.String(), token)
}
