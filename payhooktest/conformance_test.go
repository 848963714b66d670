package payhooktest_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"unsafe"

	"github.com/payhook/payhook"
	"github.com/payhook/payhook/payhooktest"
)

// toyEvent is the event of toyProvider.
type toyEvent struct {
	ID     string `json:"id"`
	Amount string `json:"amount"`
}

// toyProvider is a made-up HMAC provider: X-Toy-Signature is the hex
// HMAC-SHA256 of the body. Its flaws are switched on one by one, to show
// that TestProvider catches each.
type toyProvider struct {
	secret    string
	keepsBody bool // the event's ID aliases the body buffer
	leaks     bool // a refusal's error holds the expected signature and the secret
}

func (*toyProvider) Name() string          { return "toy" }
func (*toyProvider) Key(e toyEvent) string { return e.ID }

// Format and LogValue print the provider without its secret.
func (*toyProvider) Format(f fmt.State, _ rune) { io.WriteString(f, "toyProvider{secret: REDACTED}") }
func (*toyProvider) LogValue() slog.Value       { return slog.StringValue("toyProvider{secret: REDACTED}") }

func (p *toyProvider) Verify(_ context.Context, h http.Header, body []byte) (toyEvent, error) {
	want := toySign(p.secret, body)
	if !hmac.Equal([]byte(h.Get("X-Toy-Signature")), []byte(want)) {
		if p.leaks {
			return toyEvent{}, fmt.Errorf("toy: %w: want %s (secret %s)", payhook.ErrInvalidSignature, want, p.secret)
		}
		return toyEvent{}, fmt.Errorf("toy: %w", payhook.ErrInvalidSignature)
	}
	var e toyEvent
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" {
		return toyEvent{}, fmt.Errorf("toy: %w", payhook.ErrMalformed)
	}
	if p.keepsBody { // an "optimization" that keeps a view of the body
		i := strings.Index(string(body), e.ID)
		e.ID = unsafe.String(&body[i], len(e.ID))
	}
	return e, nil
}

func toySign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// toyPost is a POST of body to toyProvider's path, re-sendable.
func toyPost(body []byte) *http.Request {
	r, _ := http.NewRequest(http.MethodPost, "/webhooks/toy", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func toyCase(p *toyProvider) payhooktest.ProviderCase[toyEvent] {
	body := []byte(`{"id":"pay_1","amount":"10.00"}`)
	genuine := toyPost(body)
	genuine.Header.Set("X-Toy-Signature", toySign(p.secret, body))
	forged := toyPost(body)
	forged.Header.Set("X-Toy-Signature", toySign("not-"+p.secret, body))
	malformed := toyPost([]byte(`{"amount":1}`))
	malformed.Header.Set("X-Toy-Signature", toySign(p.secret, []byte(`{"amount":1}`)))
	return payhooktest.ProviderCase[toyEvent]{
		Provider:  p,
		Genuine:   genuine,
		Forged:    []*http.Request{forged},
		Malformed: []*http.Request{malformed},
		Secrets:   []string{p.secret, toySign(p.secret, body)},
	}
}

func TestProviderConformance(t *testing.T) {
	payhooktest.RunProvider(t, toyCase(&toyProvider{secret: "toy-secret"}))
}

// TestProviderConformanceFails: the suite fails a provider that keeps its
// body, and one that shows its secret and the expected signature in an
// error.
func TestProviderConformanceFails(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    *toyProvider
		want string
	}{
		{"keeps its body", &toyProvider{secret: "toy-secret", keepsBody: true}, "Verify keeps body"},
		{"leaks its secret in an error", &toyProvider{secret: "toy-secret", leaks: true}, `the error shows the secret "toy-secret"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := payhooktest.TestProvider(toyCase(tt.p))
			if err == nil {
				t.Fatal("TestProvider passed a broken provider")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("TestProvider's error does not say %q:\n%v", tt.want, err)
			}
		})
	}
}
