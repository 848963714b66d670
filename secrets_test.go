package payhook_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/providers/kasperopay"
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
)

// The credentials of TestSecretsNeverPrinted: distinctive, so that any
// encoding of them is found.
var testSecrets = []string{
	"kwKEY-7f3a91c2", "kwSECRET-d04e5b", "kkHASH-1a2b3c", "kkHASH-old-4d5e", "kkPUB-6f7a8b", "kkPRIV-9c0d1e", "kkSEC-2f3a4b",
	"kpWHSEC-5c6d7e", "proxyPASS-8f9a0b", "kpWHSEC-old-1d2e", "kwKEY-old-3f4a", "kwSECRET-old-5b6c",
}

// encodings returns the forms in which a printed value could carry s.
func encodings(s string) []string {
	b := []byte(s)
	dec := strings.Trim(fmt.Sprint(b), "[]")
	oct := strings.Trim(fmt.Sprintf("%o", b), "[]")
	bin := strings.Trim(fmt.Sprintf("%b", b), "[]")
	return []string{s, fmt.Sprintf("%x", s), fmt.Sprintf("%X", s), base64.StdEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b), dec, oct, bin, fmt.Sprintf("% x", s), fmt.Sprintf("%U", []rune(s)[:4])}
}

// TestSecretsNeverPrinted (issue 8, finding 6) prints every exported type
// that holds a credential, by value and by pointer, with every fmt verb,
// through slog's text and JSON handlers and encoding/json, and finds none
// of the credentials in any encoding.
func TestSecretsNeverPrinted(t *testing.T) {
	base := "https://proxy:" + testSecrets[8] + "@api.example"
	kw, err := kazawallet.New(testSecrets[0], testSecrets[1], kazawallet.WithSecrets(kazawallet.KeyPair{APIKey: "kwKEY-old-3f4a", APISecret: "kwSECRET-old-5b6c"}))
	require.NoError(t, err)
	kwc, err := kazawallet.NewClient(testSecrets[0], kazawallet.WithBaseURL(base))
	require.NoError(t, err)
	kkc, err := kkiapay.NewClient(testSecrets[4], testSecrets[5], testSecrets[6], kkiapay.WithBaseURL(base))
	require.NoError(t, err)
	kk, err := kkiapay.New(testSecrets[2], kkiapay.WithSecrets(testSecrets[3]), kkiapay.WithConfirmation(kkc))
	require.NoError(t, err)
	kpc, err := kasperopay.NewClient(kasperopay.WithBaseURL(base))
	require.NoError(t, err)
	kp, err := kasperopay.New(kasperopay.WithSecrets(testSecrets[7], "kpWHSEC-old-1d2e"), kasperopay.WithConfirmation(kpc))
	require.NoError(t, err)

	values := map[string]any{
		"kazawallet.Provider": *kw, "*kazawallet.Provider": kw,
		"kazawallet.Client": *kwc, "*kazawallet.Client": kwc,
		"kkiapay.Provider": *kk, "*kkiapay.Provider": kk,
		"kkiapay.Client": *kkc, "*kkiapay.Client": kkc,
		"kasperopay.Provider": *kp, "*kasperopay.Provider": kp,
		"kasperopay.Client": *kpc, "*kasperopay.Client": kpc,
	}
	var forbidden []string
	for _, s := range testSecrets {
		forbidden = append(forbidden, encodings(s)...)
	}
	check := func(t *testing.T, how, out string) {
		t.Helper()
		for _, f := range forbidden {
			if strings.Contains(out, f) {
				t.Errorf("%s shows %q: %s", how, f, out)
			}
		}
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%o", "%O", "%b", "%c", "%U", "%e", "%f", "%g", "%t", "%p", "%T", "%08v", "%-10s"}
	for name, v := range values {
		t.Run(name, func(t *testing.T) {
			for _, verb := range verbs {
				check(t, verb, fmt.Sprintf(verb, v))
			}
			check(t, "Sprint", fmt.Sprint(v)+fmt.Sprintln(v))
			check(t, "in a struct", fmt.Sprintf("%+v %#v", struct{ X any }{v}, struct{ x any }{v}))
			check(t, "in a slice and a map", fmt.Sprintf("%v %+v", []any{v}, map[string]any{"v": v}))
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "v", v, slog.Group("g", "v", v))
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "v", v, slog.Group("g", "v", v))
			check(t, "slog", buf.String())
			b, err := json.Marshal(v)
			if err == nil {
				check(t, "json", string(b))
			}
		})
	}
}
