// Package redact hides the secrets a URL quoted in a text may hold, for
// payhook's command-line and operator's page alike.
package redact

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/payhook/payhook/forward"
)

// urlInText finds the URLs in an error's text.
var urlInText = regexp.MustCompile(`https?://[^\s"'<>]+`)

// URLs writes every URL in s as forward.Redact does (no password, no
// query values): an error kept by an older payhook, or written by another
// program, may quote PAYHOOK_FORWARD_URL with its token.
func URLs(s string) string {
	return urlInText.ReplaceAllStringFunc(s, func(raw string) string {
		trimmed := strings.TrimRight(raw, ".,:;)]") // the text's punctuation, not the URL's
		u, err := url.Parse(trimmed)
		if err != nil {
			return "(a URL)"
		}
		return forward.Redact(u) + raw[len(trimmed):]
	})
}
