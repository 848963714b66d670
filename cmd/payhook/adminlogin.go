package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/payhook/payhook/internal/secret"
)

// A browser cannot send "Authorization: Bearer TOKEN", so the admin
// listener also takes the token in a form (POST /login) and answers with
// a cookie a browser sends back: the cookie holds an expiry and an HMAC,
// keyed by the token, of that expiry, never the token itself. It is
// HttpOnly (no script reads it), SameSite=Strict (no request another
// site starts carries it) and Secure when the request came over TLS; the
// login and logout forms are refused when another site posts them. The
// cookie lasts adminSession; changing PAYHOOK_ADMIN_TOKEN ends every
// cookie at once, on every replica (they hold no session state).

// adminCookie is the name of the admin listener's cookie.
const adminCookie = "payhook_admin"

// adminSession is how long a login lasts.
const adminSession = 12 * time.Hour

// adminAuth checks the Bearer header and the login cookie of one token.
type adminAuth struct {
	want    [sha256.Size]byte // the token's SHA-256: compared whatever the length given
	key     []byte            // the cookies' HMAC key, derived from the token
	now     func() time.Time
	guesses *rate.Limiter // wrong tokens, by login form or header: a bound on guessing
}

// Wrong tokens allowed, in all, before the admin listener stops checking
// any for a while: adminGuessBurst at once, then adminGuessRate a second.
// A right token is never charged.
const (
	adminGuessRate  = rate.Limit(1)
	adminGuessBurst = 10
)

func newAdminAuth(token secret.Value, now func() time.Time) *adminAuth {
	mac := hmac.New(sha256.New, []byte(token.Reveal()))
	mac.Write([]byte("payhook admin cookie key"))
	return &adminAuth{want: sha256.Sum256([]byte(token.Reveal())), key: mac.Sum(nil), now: now,
		guesses: rate.NewLimiter(adminGuessRate, adminGuessBurst)}
}

// check reports whether given is the token, and whether it could be
// checked at all: once too many wrong tokens came, none is checked until
// the bound refills, so that guessing the token online stays hopeless
// whatever its length.
func (a *adminAuth) check(given string) (ok, checked bool) {
	now := a.now()
	if a.guesses.TokensAt(now) < 1 {
		return false, false
	}
	if a.token(given) {
		return true, true
	}
	a.guesses.AllowN(now, 1)
	return false, true
}

// token reports whether given is the token, in constant time.
func (a *adminAuth) token(given string) bool {
	got := sha256.Sum256([]byte(strings.TrimSpace(given)))
	return subtle.ConstantTimeCompare(got[:], a.want[:]) == 1
}

// sign returns the cookie's value for a login expiring at exp.
func (a *adminAuth) sign(exp int64) string {
	mac := hmac.New(sha256.New, a.key)
	mac.Write([]byte(strconv.FormatInt(exp, 10)))
	return strconv.FormatInt(exp, 10) + "." + hex.EncodeToString(mac.Sum(nil))
}

// cookie reports whether r carries a login cookie of the token, unexpired.
func (a *adminAuth) cookie(r *http.Request) bool {
	c, err := r.Cookie(adminCookie)
	if err != nil {
		return false
	}
	at, _, ok := strings.Cut(c.Value, ".")
	exp, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || a.now().Unix() >= exp {
		return false
	}
	return hmac.Equal([]byte(c.Value), []byte(a.sign(exp)))
}

// allowed reports whether r carries the token: its Bearer header or a
// login cookie.
func (a *adminAuth) allowed(r *http.Request) bool {
	if scheme, given, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "Bearer") {
		ok, _ := a.check(given)
		return ok
	}
	return a.cookie(r)
}

// setAdminCookie sets the login cookie (maxAge seconds; negative: remove
// it). It is Secure when the browser reached serve over HTTPS: over TLS,
// or through a proxy that says so (X-Forwarded-Proto: https). Trusting
// that header costs nothing: a Secure cookie wrongly set is only never
// sent back over plain HTTP, and the browser asks for the token again.
func setAdminCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	secure := r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}} · payhook admin</title></head>
<body>
<main>
<h1>{{.Title}}</h1>
{{- if .Message}}<p role="alert">{{.Message}}</p>{{end}}
{{- if .Logout}}
<form method="post" action="logout"><button type="submit">Sign out</button></form>
{{- else}}
<form method="post" action="login">
<p><label for="token">Admin token (PAYHOOK_ADMIN_TOKEN)</label><br>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus></p>
<p><button type="submit">Sign in</button></p>
</form>
<p>The token is checked and never kept: the browser keeps a cookie that proves it for 12 hours.</p>
{{- end}}
</main>
</body>
</html>
`))

// renderLogin answers status with the login (or logout) form.
func renderLogin(w http.ResponseWriter, status int, title, msg string, logout bool) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	loginPage.Execute(w, struct {
		Title, Message string
		Logout         bool
	}{title, msg, logout})
}

// loginMux serves /login and /logout, their forms refused when another
// site posts them (a login from another site would sign the browser in
// to the attacker's choice; a logout, end the operator's session).
func (a *adminAuth) loginMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		renderLogin(w, http.StatusOK, "Sign in", "", false)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		ok, checked := a.check(r.PostFormValue("token"))
		if !checked {
			w.Header().Set("Retry-After", "10")
			renderLogin(w, http.StatusTooManyRequests, "Sign in", "Too many wrong tokens: try again in a few seconds.", false)
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="payhook admin"`)
			renderLogin(w, http.StatusUnauthorized, "Sign in", "That is not the admin token.", false)
			return
		}
		setAdminCookie(w, r, a.sign(a.now().Add(adminSession).Unix()), int(adminSession/time.Second))
		w.Header().Set("Location", "./")
		w.WriteHeader(http.StatusSeeOther)
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		renderLogin(w, http.StatusOK, "Sign out", "", true)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		setAdminCookie(w, r, "", -1)
		renderLogin(w, http.StatusOK, "Signed out", "The cookie is removed from this browser.", false)
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Refused: a form of another site cannot sign in or out here.", http.StatusForbidden)
	}))
	return cop.Handler(mux)
}
