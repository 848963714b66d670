package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValueRedacts(t *testing.T) {
	v := New("s3cr3t-value")
	assert.Equal(t, "s3cr3t-value", v.Reveal())
	type holder struct {
		Exported   Value
		unexported Value
	}
	h := holder{v, v}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%U", "%c", "%T"} {
		for _, x := range []any{v, &v, h, &h} {
			out := fmt.Sprintf(verb, x)
			assert.NotContains(t, out, "s3cr3t", verb)
			assert.NotContains(t, out, fmt.Sprintf("%x", "s3cr3t"), verb)
		}
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "v", v, "h", h, "p", &h)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("m", "v", v, "h", h, "p", &h)
	b, err := json.Marshal(h)
	assert.NoError(t, err)
	assert.JSONEq(t, `{"Exported":"REDACTED"}`, string(b))
	assert.False(t, strings.Contains(buf.String(), "s3cr3t"), buf.String())
	assert.True(t, Value{}.IsZero())
}
