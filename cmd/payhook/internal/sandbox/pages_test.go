package sandbox

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPagesAreAccessibleWithoutJavaScript reads every page as an
// accessibility check would: a language, a title, one h1, no script, every
// control labelled, every button a real submit button with a name, tables
// with headers.
func TestPagesAreAccessibleWithoutJavaScript(t *testing.T) {
	f := newFixture(t)
	kw := f.begin("kazawallet", url.Values{"amount": {"10.00"}, "currency": {"USD"}, "redirectUrl": {"https://shop.example/r"}})
	kk := f.begin("kkiapay", url.Values{"amount": {"1000"}, "method": {"MOBILE_MONEY"}})
	kp := f.begin("kasperopay", url.Values{"amount": {"25.5"}})
	pending := []string{"/", kw, kk, kp}
	f.press(kw, "pay")
	f.press(kk, "fail")
	f.press(kp, "pay")
	settled := []string{kw, kk, kp, "/payments", "/nowhere"}

	ids := regexp.MustCompile(`<(?:input|select) id="([^"]+)"`)
	for i, path := range append(pending, settled...) {
		status, page := f.get(path)
		if path == "/nowhere" {
			assert.Equal(t, http.StatusNotFound, status)
		} else {
			require.Equal(t, http.StatusOK, status, path)
		}
		name := path
		if i < len(pending) {
			name += " (pending)"
		}
		t.Run(name, func(t *testing.T) {
			assert.Contains(t, page, `<html lang="en">`)
			assert.Regexp(t, `<title>[^<]+ · payhook sandbox</title>`, page)
			assert.Equal(t, 1, strings.Count(page, "<h1"), "one h1")
			assert.NotContains(t, strings.ToLower(page), "<script")
			assert.NotContains(t, page, " onclick=")
			assert.Contains(t, page, `<a class="skip" href="#main">`)
			for _, m := range ids.FindAllStringSubmatch(page, -1) {
				assert.Contains(t, page, `<label for="`+m[1]+`">`, "control %s has a label", m[1])
			}
			assert.Equal(t, strings.Count(page, "<button"), strings.Count(page, `<button type="submit"`), "real submit buttons")
			for _, b := range regexp.MustCompile(`<button[^>]*>(.*?)</button>`).FindAllStringSubmatch(page, -1) {
				assert.NotEmpty(t, strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(b[1], "")), "button has a name")
			}
			assert.Equal(t, strings.Count(page, "<table"), strings.Count(page, "<caption>"), "tables have captions")
			assert.Equal(t, strings.Count(page, "<table"), strings.Count(page, "<thead>"))
		})
	}
	_, page := f.get(kk)
	assert.Contains(t, page, "Webhooks to your app", "a settled checkout shows its deliveries")
	_, page = f.get(kp)
	assert.Contains(t, page, `<span class="visually-hidden"> delivery 3</span>`, "each Resend button says which delivery")
}

// TestPagesReloadWhileInFlight: a page showing a delivery in flight asks to
// be reloaded (no JavaScript needed); once it is done, not.
func TestPagesReloadWhileInFlight(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, func(c *Config, merchant string) { c.Kazawallet.Webhook = merchant + "/slow" })
	arrived := make(chan struct{})
	f.merchant.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	})
	kw := f.begin("kazawallet", url.Values{"amount": {"1"}, "currency": {"USD"}})
	status, _, _ := f.post(kw, url.Values{"action": {"pay"}})
	require.Equal(t, http.StatusSeeOther, status)
	<-arrived
	for _, path := range []string{kw, "/payments"} {
		_, page := f.get(path)
		assert.Contains(t, page, `<meta http-equiv="refresh" content="2">`, path)
		assert.Contains(t, page, "In flight: attempt 1", path)
	}
	close(release)
	f.sb.wait()
	for _, path := range []string{kw, "/payments"} {
		_, page := f.get(path)
		assert.NotContains(t, page, `http-equiv="refresh"`, path)
		assert.Contains(t, page, "Acknowledged on attempt 1", path)
	}
}

// TestFormsFromOtherSitesRefused: a page elsewhere cannot press the
// sandbox's buttons.
func TestFormsFromOtherSitesRefused(t *testing.T) {
	f := newFixture(t)
	host := strings.TrimPrefix(f.srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		header []string
		want   int
	}{
		{"cross-site fetch", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"same-site other origin", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"other origin", []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"null origin", []string{"Origin", "null"}, http.StatusForbidden},
		{"same origin", []string{"Sec-Fetch-Site", "same-origin", "Origin", "http://" + host}, http.StatusSeeOther},
		{"typed address", []string{"Sec-Fetch-Site", "none"}, http.StatusSeeOther},
		{"no browser headers (curl)", nil, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, _ := f.post("/checkout/kasperopay", url.Values{"amount": {"1"}}, tc.header...)
			assert.Equal(t, tc.want, status)
		})
	}
	kw := f.begin("kazawallet", url.Values{"amount": {"1"}, "currency": {"USD"}})
	status, _, _ := f.post(kw, url.Values{"action": {"pay"}}, "Origin", "http://evil.example")
	assert.Equal(t, http.StatusForbidden, status)
	status, _, _ = f.post("/deliveries/1/resend", nil, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, status)
}

func TestPageErrors(t *testing.T) {
	f := newFixture(t)
	status, _, body := f.post("/checkout/kazawallet", url.Values{"amount": {"-1"}, "currency": {"USD"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "amount must be an amount above zero")
	status, _, body = f.post("/checkout/kkiapay", url.Values{"amount": {"10.5"}, "method": {"CARD"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "whole number")
	status, _, _ = f.post("/checkout/kkiapay", url.Values{"amount": {"10"}, "method": {"CASH"}})
	assert.Equal(t, http.StatusBadRequest, status)
	status, _, _ = f.post("/checkout/paypal", url.Values{"amount": {"10"}})
	assert.Equal(t, http.StatusNotFound, status)
	status, _, _ = f.post("/checkout/kazawallet/nope", url.Values{"action": {"pay"}})
	assert.Equal(t, http.StatusNotFound, status)
	kw := f.begin("kazawallet", url.Values{"amount": {"1"}, "currency": {"USD"}})
	status, _, _ = f.post(kw, url.Values{"action": {"refund"}})
	assert.Equal(t, http.StatusBadRequest, status)
	status, _ = f.get("/checkout/kazawallet/nope")
	assert.Equal(t, http.StatusNotFound, status)
	status, _, _ = f.post("/deliveries/99/resend", nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _, _ = f.post("/deliveries/x/resend", nil)
	assert.Equal(t, http.StatusNotFound, status)

	f.press(kw, "pay")
	for back, want := range map[string]string{
		kw:                     kw,
		"//evil.example/x":     "/payments",
		"https://evil.example": "/payments",
		`/\evil.example`:       "/payments",
	} {
		status, loc, _ := f.post("/deliveries/1/resend", url.Values{"back": {back}})
		assert.Equal(t, http.StatusSeeOther, status)
		assert.Equal(t, want, loc, back)
	}
	f.sb.wait()
}
