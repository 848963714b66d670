package kazawallet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/providers/kazawallet"
)

const (
	apiKey    = "test_api_key"
	apiSecret = "test_api_secret"
)

type vector struct {
	Amount    string `json:"amount"`
	OrderID   string `json:"order_id"`
	APIKey    string `json:"api_key"`
	APISecret string `json:"api_secret"`
	Secret    string `json:"secret"`
}

// readVectors reads testdata/vectors.jsonl, made by running Kazawallet's PHP
// (testdata/seed.php) with php-cli.
func readVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("testdata/vectors.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var v vector
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v))
		vs = append(vs, v)
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, vs)
	return vs
}

func TestSignMatchesPHPVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.Amount+"/"+v.OrderID, func(t *testing.T) {
			assert.Equal(t, v.Secret, kazawallet.Sign(v.APIKey, v.APISecret, v.Amount, v.OrderID))
		})
	}
}

func TestVerifyPHPVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.Amount+"/"+v.OrderID, func(t *testing.T) {
			p, err := kazawallet.New(v.APIKey, v.APISecret)
			require.NoError(t, err)
			body, err := json.Marshal(map[string]string{"order_id": v.OrderID, "amount": v.Amount, "secret": v.Secret, "status": "fulfilled"})
			require.NoError(t, err)
			e, err := p.Verify(context.Background(), nil, body)
			require.NoError(t, err)
			assert.Equal(t, v.OrderID, e.OrderID)
			assert.Equal(t, v.Amount, e.SignedAmount)
		})
	}
}

// TestSignAgainstPHP runs the seed's PHP on random inputs and compares. It
// needs php-cli, which the README's test command installs; under CI a
// missing php fails the test instead of skipping it.
func TestSignAgainstPHP(t *testing.T) {
	php, err := exec.LookPath("php")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("php-cli is required under CI: apt-get install php-cli")
		}
		t.Skip("php-cli not installed")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcXYZ0189_-:./+= éك€")
	word := func(n int) string {
		var b strings.Builder
		for range 1 + rng.IntN(n) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	var in bytes.Buffer
	var vs []vector
	for range 300 {
		v := vector{
			Amount:    fmt.Sprintf("%d.%02d", rng.IntN(100000), rng.IntN(100)),
			OrderID:   word(30),
			APIKey:    word(40),
			APISecret: word(200), // past SHA-512's block size too
		}
		vs = append(vs, v)
		require.NoError(t, json.NewEncoder(&in).Encode(v))
	}
	cmd := exec.Command(php, "testdata/seed.php")
	cmd.Stdin = &in
	out, err := cmd.Output()
	require.NoError(t, err)
	secrets := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, secrets, len(vs))
	for i, v := range vs {
		assert.Equal(t, secrets[i], kazawallet.Sign(v.APIKey, v.APISecret, v.Amount, v.OrderID), "input %+v", v)
	}
	// The committed vectors are PHP's too.
	in.Reset()
	stored := readVectors(t)
	for _, v := range stored {
		require.NoError(t, json.NewEncoder(&in).Encode(v))
	}
	cmd = exec.Command(php, "testdata/seed.php")
	cmd.Stdin = &in
	out, err = cmd.Output()
	require.NoError(t, err)
	for i, s := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		assert.Equal(t, stored[i].Secret, s)
	}
}

func TestNewRefusesEmptyCredentials(t *testing.T) {
	for _, tt := range []struct{ name, key, secret string }{
		{"no key", "", apiSecret},
		{"no secret", apiKey, ""},
		{"blank secret", apiKey, "  "},
		{"neither", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := kazawallet.New(tt.key, tt.secret)
			assert.ErrorIs(t, err, payhook.ErrConfig)
			assert.Nil(t, p)
		})
	}
}

func jsonBody(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(fields)
	require.NoError(t, err)
	return b
}

func TestVerify(t *testing.T) {
	p, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	sig := func(amount, id string) string { return kazawallet.Sign(apiKey, apiSecret, amount, id) }
	form := func(kv ...string) []byte {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return []byte(v.Encode())
	}

	tests := []struct {
		name       string
		body       []byte
		wantErr    error
		wantID     string
		wantAmount string
		wantSigned string
		wantType   kazawallet.EventType
	}{
		{
			name:   "json, amount as a string",
			body:   jsonBody(t, map[string]any{"order_id": "ord_123", "amount": "10.00", "secret": sig("10.00", "ord_123"), "status": "fulfilled", "ref": "user-7", "currency": "USD"}),
			wantID: "ord_123", wantAmount: "10.00", wantSigned: "10.00", wantType: kazawallet.Fulfilled,
		},
		{
			name:   "json, amount as a number keeps its literal",
			body:   []byte(`{"order_id":"ord_123","amount":10.50,"secret":"` + sig("10.50", "ord_123") + `","status":"fulfilled"}`),
			wantID: "ord_123", wantAmount: "10.50", wantSigned: "10.50", wantType: kazawallet.Fulfilled,
		},
		{
			name:   "signed two-decimal, sent short",
			body:   []byte(`{"order_id":"ord_123","amount":10,"secret":"` + sig("10.00", "ord_123") + `","status":"fulfilled"}`),
			wantID: "ord_123", wantAmount: "10", wantSigned: "10.00", wantType: kazawallet.Fulfilled,
		},
		{
			name:   "signed short, sent two-decimal",
			body:   jsonBody(t, map[string]any{"order_id": "ord_123", "amount": "10.50", "secret": sig("10.5", "ord_123"), "status": "fulfilled"}),
			wantID: "ord_123", wantAmount: "10.50", wantSigned: "10.5", wantType: kazawallet.Fulfilled,
		},
		{
			name:   "id instead of order_id",
			body:   jsonBody(t, map[string]any{"id": "ord_9", "amount": "5", "secret": sig("5", "ord_9"), "status": "timed_out"}),
			wantID: "ord_9", wantAmount: "5", wantSigned: "5", wantType: kazawallet.TimedOut,
		},
		{
			name:   "order_id wins over id",
			body:   jsonBody(t, map[string]any{"order_id": "ord_1", "id": "ord_2", "amount": "5", "secret": sig("5", "ord_1")}),
			wantID: "ord_1", wantAmount: "5", wantSigned: "5",
		},
		{
			name:   "numeric order_id",
			body:   []byte(`{"order_id":12345,"amount":"99.99","secret":"` + sig("99.99", "12345") + `","status":"fulfilled"}`),
			wantID: "12345", wantAmount: "99.99", wantSigned: "99.99", wantType: kazawallet.Fulfilled,
		},
		{
			name:   "unknown status kept",
			body:   jsonBody(t, map[string]any{"order_id": "o", "amount": "1", "secret": sig("1", "o"), "status": "cancelled"}),
			wantID: "o", wantAmount: "1", wantSigned: "1", wantType: "cancelled",
		},
		{
			name:   "form-encoded",
			body:   form("order_id", "ord_123", "amount", "10.5", "secret", sig("10.5", "ord_123"), "status", "fulfilled", "currency", "USD"),
			wantID: "ord_123", wantAmount: "10.5", wantSigned: "10.5", wantType: kazawallet.Fulfilled,
		},
		{
			name:   "form-encoded with + left unescaped",
			body:   []byte("order_id=ord_123&amount=10&status=fulfilled&secret=" + strings.ReplaceAll(sig("10", "ord_123"), "=", "%3D")),
			wantID: "ord_123", wantAmount: "10", wantSigned: "10", wantType: kazawallet.Fulfilled,
		},
		{
			name:   "leading whitespace before json",
			body:   []byte("\n  " + string(jsonBody(t, map[string]any{"order_id": "o", "amount": "1", "secret": sig("1", "o")}))),
			wantID: "o", wantAmount: "1", wantSigned: "1",
		},

		{name: "wrong secret", body: jsonBody(t, map[string]any{"order_id": "ord_123", "amount": "10", "secret": sig("10", "ord_124")}), wantErr: payhook.ErrInvalidSignature},
		{name: "amount raised", body: jsonBody(t, map[string]any{"order_id": "ord_123", "amount": "1000", "secret": sig("10", "ord_123")}), wantErr: payhook.ErrInvalidSignature},
		{name: "other merchant's secret", body: jsonBody(t, map[string]any{"order_id": "o", "amount": "1", "secret": kazawallet.Sign(apiKey, "other", "1", "o")}), wantErr: payhook.ErrInvalidSignature},
		{name: "secret not base64", body: jsonBody(t, map[string]any{"order_id": "o", "amount": "1", "secret": "not base64!"}), wantErr: payhook.ErrInvalidSignature},
		{name: "secret truncated", body: jsonBody(t, map[string]any{"order_id": "o", "amount": "1", "secret": sig("1", "o")[:40]}), wantErr: payhook.ErrInvalidSignature},
		{name: "secret too long", body: jsonBody(t, map[string]any{"order_id": "o", "amount": "1", "secret": sig("1", "o") + sig("1", "o")}), wantErr: payhook.ErrInvalidSignature},
		{name: "no secret", body: jsonBody(t, map[string]any{"order_id": "o", "amount": "1"}), wantErr: payhook.ErrInvalidSignature},
		{name: "no order id", body: jsonBody(t, map[string]any{"amount": "1", "secret": sig("1", "")}), wantErr: payhook.ErrMalformed},
		{name: "no amount", body: jsonBody(t, map[string]any{"order_id": "o", "secret": sig("", "o")}), wantErr: payhook.ErrMalformed},
		{name: "amount not a number", body: jsonBody(t, map[string]any{"order_id": "o", "amount": "ten", "secret": sig("ten", "o")}), wantErr: payhook.ErrMalformed},
		{name: "form amount not a number", body: form("order_id", "o", "amount", "1,5", "secret", sig("1,5", "o")), wantErr: payhook.ErrMalformed},
		{name: "broken json", body: []byte(`{"order_id":"o",`), wantErr: payhook.ErrMalformed},
		{name: "json array", body: []byte(`[1,2]`), wantErr: payhook.ErrMalformed},
		{name: "bad form escape", body: []byte("order_id=%zz"), wantErr: payhook.ErrMalformed},
		{name: "repeated form field", body: form("order_id", "o", "order_id", "p", "amount", "1", "secret", sig("1", "o")), wantErr: payhook.ErrMalformed},
		{name: "object as order id", body: []byte(`{"order_id":{"a":1},"amount":"1","secret":"x"}`), wantErr: payhook.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := p.Verify(context.Background(), nil, tt.body)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Equal(t, kazawallet.Event{}, e)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantID, e.OrderID)
			assert.Equal(t, tt.wantID, p.Key(e))
			assert.Equal(t, tt.wantAmount, e.Amount.String())
			assert.Equal(t, tt.wantSigned, e.SignedAmount)
			assert.Equal(t, tt.wantType, e.Type)
			assert.Equal(t, tt.wantType == kazawallet.Fulfilled, e.Paid())
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	const key, secret = "key-8c1f0e", "secret-9f2d1a"
	p, err := kazawallet.New(key, secret)
	require.NoError(t, err)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("configured", "provider", p)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("configured", "provider", p)
	for _, out := range []string{fmt.Sprint(p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%v", *p), logs.String()} {
		assert.NotContains(t, out, key)
		assert.NotContains(t, out, secret)
	}
	assert.Contains(t, logs.String(), "REDACTED")

	// Errors name the problem, never the expected signature.
	body := jsonBody(t, map[string]any{"order_id": "o", "amount": "1", "secret": "AAAA"})
	_, err = p.Verify(context.Background(), nil, body)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), kazawallet.Sign(key, secret, "1", "o"))
	assert.NotContains(t, err.Error(), secret)
}

func TestEventJSONHasNoSecret(t *testing.T) {
	p, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	s := kazawallet.Sign(apiKey, apiSecret, "10", "ord_1")
	e, err := p.Verify(context.Background(), nil, jsonBody(t, map[string]any{"order_id": "ord_1", "amount": "10", "secret": s, "status": "fulfilled"}))
	require.NoError(t, err)
	out, err := json.Marshal(e)
	require.NoError(t, err)
	assert.JSONEq(t, `{"order_id":"ord_1","amount":"10","ref":"","status":"fulfilled","currency":"","signed_amount":"10"}`, string(out))
	assert.NotContains(t, string(out), s)
}

func FuzzVerify(f *testing.F) {
	p, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(f, err)
	f.Add([]byte(`{"order_id":"ord_123","amount":"10","secret":"+Xjzsd0+6N06AHXYBkMniJotjxzCAMq4GnUsYWFLwfUiDfQn3Ts/kuBOs/+xRxUwn/aL8p3+xF/XOABLWaW3WA=="}`))
	f.Add([]byte(`order_id=ord_123&amount=10&secret=x`))
	f.Add([]byte(`{"id":1,"amount":1e3}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := p.Verify(context.Background(), nil, body)
		if err != nil {
			if !strings.Contains(err.Error(), "kazawallet") {
				t.Errorf("error %q does not name the provider", err)
			}
			return
		}
		// Anything accepted carries a signature over its id and an amount
		// numerically equal to the one received.
		require.NotEmpty(t, e.OrderID)
		signed, err := payhook.ParseAmount(e.SignedAmount)
		require.NoError(t, err)
		require.True(t, signed.Equal(e.Amount))
	})
}

// TestDuplicateKeysRefused (issue 8, finding 3): a body that verifies as
// one order and amount must not carry a second order_id or amount that an
// application re-reading the body sees instead. Duplicate keys, keys equal
// under case folding, and keys that match a field only by case are 400.
func TestDuplicateKeysRefused(t *testing.T) {
	p, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	sig := kazawallet.Sign(apiKey, apiSecret, "10.00", "ord_1")
	for _, tt := range []struct{ name, body string }{
		{"second amount", `{"order_id":"ord_1","amount":"10.00","secret":"` + sig + `","status":"fulfilled","amount":"1000.00"}`},
		{"second order_id", `{"order_id":"ord_1","amount":"10.00","secret":"` + sig + `","status":"fulfilled","order_id":"ord_2"}`},
		{"amount in capitals", `{"order_id":"ord_1","amount":"10.00","secret":"` + sig + `","AMOUNT":"1000.00"}`},
		{"status with a long s", `{"order_id":"ord_1","amount":"10.00","secret":"` + sig + `","status":"timed_out","ſtatus":"fulfilled"}`},
		{"order id only by case", `{"Order_Id":"ord_1","amount":"10.00","secret":"` + sig + `"}`},
		{"escaped duplicate", `{"order_id":"ord_1","amount":"10.00","secret":"` + sig + `","\u0061mount":"1000.00"}`},
		{"duplicate in a form", `order_id=ord_1&amount=10.00&secret=` + url.QueryEscape(sig) + `&amount=1000.00`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Verify(context.Background(), nil, []byte(tt.body))
			assert.ErrorIs(t, err, payhook.ErrMalformed)
		})
	}
	_, err = p.Verify(context.Background(), nil, []byte(`{"order_id":"ord_1","amount":"10.00","secret":"`+sig+`","status":"fulfilled","extra":{"amount":"1"}}`))
	assert.NoError(t, err, "a key repeated in another object is no duplicate")
}

// TestEventSurvivesJSON (issue 17): an event comes back whole from
// json.Marshal and json.Unmarshal, as it does from an inbox.
func TestEventSurvivesJSON(t *testing.T) {
	p, err := kazawallet.New(apiKey, apiSecret)
	require.NoError(t, err)
	e, err := p.Verify(context.Background(), nil, jsonBody(t, map[string]any{"order_id": "ord_1", "amount": "10.50",
		"secret": kazawallet.Sign(apiKey, apiSecret, "10.50", "ord_1"), "status": "fulfilled", "ref": "user-7", "currency": "USD"}))
	require.NoError(t, err)
	b, err := json.Marshal(e)
	require.NoError(t, err)
	var back kazawallet.Event
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, e, back)
}
