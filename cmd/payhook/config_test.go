package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the variables of doc.go and docs/serve.md from the table")

// notInTable are the names of variables that look like the command's but
// that it never reads: the shell reads the first (payhook send --print's
// curl command), the tests the others.
var notInTable = regexp.MustCompile(`^(PAYHOOK_URL_PASSWORD|PAYHOOK_TEST_\w+)$`)

// varName finds the names that look like the command's variables.
var varName = regexp.MustCompile(`\b(?:PAYHOOK|KAZAWALLET|KKIAPAY|KASPEROPAY)_[A-Z0-9_]*[A-Z0-9]\b`)

// TestVariablesDoc: the package doc and docs/serve.md list the variables
// of the table, generated from it (go test -run TestVariablesDoc -update
// rewrites them), and name no variable the table lacks; nor does any of
// the command's files.
func TestVariablesDoc(t *testing.T) {
	docGo := filepath.Join(pkgDir, "doc.go")
	serveMd := filepath.Join(pkgDir, "..", "..", "docs", "serve.md")
	for _, f := range []struct {
		path string
		edit func(string) (string, error)
	}{
		{docGo, func(s string) (string, error) { return replaceGoDocBlock(s, goDocVariables()) }},
		{serveMd, func(s string) (string, error) {
			return replaceBetween(s, markdownStart, markdownEnd, markdownVariables())
		}},
	} {
		src, err := os.ReadFile(f.path)
		require.NoError(t, err)
		want, err := f.edit(string(src))
		require.NoError(t, err, f.path)
		if *update {
			require.NoError(t, os.WriteFile(f.path, []byte(want), 0o644))
			continue
		}
		assert.Equal(t, want, string(src), "%s is not the table of config.go: run go test -run TestVariablesDoc -update", f.path)
	}

	table := map[string]bool{}
	for _, v := range variables {
		assert.False(t, table[v.name], "%s twice in the table", v.name)
		table[v.name] = true
		assert.NotEmpty(t, v.doc, v.name)
		assert.Regexp(t, `^(PAYHOOK|KAZAWALLET|KKIAPAY|KASPEROPAY)_`, v.name)
		if v.needs != "" {
			assert.Contains(t, table, v.needs, "%s needs a variable listed before it", v.name)
		}
	}
	files, err := filepath.Glob(filepath.Join(pkgDir, "*.go"))
	require.NoError(t, err)
	files = append(files, serveMd)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, name := range varName.FindAllString(string(src), -1) {
			if !table[name] && !notInTable.MatchString(name) {
				t.Errorf("%s names %s, which is not in the table of config.go", filepath.Base(f), name)
			}
		}
	}
}

// TestConfigReadsOnlyTheTable: every command reads the environment through
// loadConfig alone, once, and only the table's variables.
func TestConfigReadsOnlyTheTable(t *testing.T) {
	table := map[string]bool{}
	for _, v := range variables {
		table[v.name] = true
	}
	for _, args := range [][]string{
		{"serve"},
		{"send", "kazawallet"},
		{"inbox", "list"},
		{"sandbox"},
	} {
		t.Run(args[0], func(t *testing.T) {
			read := map[string]int{}
			getenv := func(name string) string {
				read[name]++
				return map[string]string{"PAYHOOK_STORE": "memory", "PAYHOOK_ADDR": "127.0.0.1:1", "KAZAWALLET_API_KEY": "k"}[name]
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // every command refuses or stops at once: no provider, no secret, the memory inbox
			run(ctx, args, getenv, io.Discard, io.Discard)
			require.NotEmpty(t, read)
			for name, n := range read {
				assert.True(t, table[name], "%s read, not in the table", name)
				assert.Equal(t, 1, n, "%s read %d times", name, n)
			}
			assert.Len(t, read, len(variables), "every variable is read once, by loadConfig")
		})
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(env(nil))
	require.NoError(t, err)
	assert.Equal(t, ":8080", cfg.addr)
	assert.Equal(t, "", cfg.store, "unset: payhook.db")
	require.NotNil(t, cfg.rateLimit)
	assert.Equal(t, 20, cfg.rateLimit.Burst)
	assert.True(t, cfg.metrics)
	assert.Equal(t, 25, cfg.inboxAttempts)
	assert.Empty(t, cfg.set, "nothing was set")
	assert.Equal(t, 20, cfg.limits.clientRequests, "a client may have in flight what the rate limit lets it send at once")
	assert.Equal(t, 256, cfg.limits.requests)
	assert.NoError(t, cfg.checkServe())
}

// TestClientRequestsFollowTheRateLimit: the cap on a client's requests in
// flight never refuses what the rate limit lets through at once, and goes
// with it, up to a quarter of the total: with the rate limit off or a
// burst of 256 or more, one client used to be able to take every slot
// (security review).
func TestClientRequestsFollowTheRateLimit(t *testing.T) {
	for spec, want := range map[string]int{"20/s": 20, "5/s": 16, "60/s": 60, "100/s": 64, "6000/m": 64, "off": 64} {
		cfg, err := loadConfig(env(map[string]string{"PAYHOOK_RATE_LIMIT": spec}))
		require.NoError(t, err)
		assert.Equal(t, want, cfg.limits.clientRequests, spec)
	}
}

// TestLoadConfigErrors: every value that cannot be used is named, the
// credentials' values never quoted.
func TestLoadConfigErrors(t *testing.T) {
	_, err := loadConfig(env(map[string]string{
		"PAYHOOK_RATE_LIMIT":     "fast",
		"KKIAPAY_SANDBOX":        "maybe",
		"KKIAPAY_WEBHOOK_SECRET": "hunter2,,hunter3",
		"PAYHOOK_INBOX_ATTEMPTS": "0",
	}))
	require.Error(t, err)
	for _, want := range []string{`PAYHOOK_RATE_LIMIT="fast"`, `KKIAPAY_SANDBOX="maybe"`, "KKIAPAY_WEBHOOK_SECRET: holds an empty value", `PAYHOOK_INBOX_ATTEMPTS="0"`} {
		assert.Contains(t, err.Error(), want)
	}
	assert.NotContains(t, err.Error(), "hunter")

	cfg, err := loadConfig(env(map[string]string{"PAYHOOK_INBOX_BACKOFF": "2s"}))
	require.NoError(t, err)
	assert.EqualError(t, cfg.checkServe(), "PAYHOOK_INBOX_BACKOFF set without PAYHOOK_FORWARD_URL")
}

// TestConfigPrintsNoSecret: a config printed by mistake shows no
// credential.
func TestConfigPrintsNoSecret(t *testing.T) {
	cfg, err := loadConfig(env(map[string]string{
		"KAZAWALLET_API_KEY": "key-hunter2", "KAZAWALLET_API_SECRET": "secret-hunter2",
		"KKIAPAY_WEBHOOK_SECRET": "kk-hunter2", "KKIAPAY_PRIVATE_KEY": "pk-hunter2",
		"PAYHOOK_FORWARD_SECRET": "whsec_hunter2",
	}))
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", *cfg), fmt.Sprintf("%#v", *cfg)} {
		assert.NotContains(t, s, "hunter2")
	}
	assert.Equal(t, []string{"key-hunter2"}, cfg.kazawallet.keys.reveal(), "the code that uses it has it")
}

const (
	markdownStart = "<!-- variables: written by `go test -run TestVariablesDoc -update` in cmd/payhook, from its config.go -->\n"
	markdownEnd   = "<!-- end of variables -->\n"
)

// markdownVariables is the table of variables in docs/serve.md.
func markdownVariables() string {
	var b strings.Builder
	b.WriteString("\n| Variable | Values | Default |\n|---|---|---|\n")
	for _, v := range variables {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", v.name, v.doc, markdownDefault(v))
	}
	return b.String() + "\n"
}

func markdownDefault(v variable) string {
	switch {
	case v.unset != "":
		return v.unset
	case v.def != "":
		return "`" + v.def + "`"
	}
	return ""
}

// goDocVariables is the list of variables in the package doc: one code
// block, each name followed by its meaning, without Markdown, wrapped.
func goDocVariables() string {
	const indent, width = 27, 100
	var b strings.Builder
	for _, v := range variables {
		text := plain(v.doc)
		if d := markdownDefault(v); d != "" {
			text += " (default: " + plain(d) + ")"
		}
		line := "//\t" + v.name + strings.Repeat(" ", max(1, indent-len(v.name)))
		for _, word := range strings.Fields(text) {
			if len(line)+len(word) > width && !strings.HasSuffix(line, " ") {
				b.WriteString(line + "\n")
				line = "//\t" + strings.Repeat(" ", indent)
			}
			if !strings.HasSuffix(line, " ") {
				line += " "
			}
			line += word
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

var (
	parentheticalLink = regexp.MustCompile(`\s*\(\[[^\]]*\]\([^)]*\)\)`)
	markdownLink      = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
)

// plain is Markdown text as the package doc writes it: no backticks, no
// links (a link alone in parentheses is dropped).
func plain(s string) string {
	s = parentheticalLink.ReplaceAllString(s, "")
	s = markdownLink.ReplaceAllString(s, "$1")
	return strings.ReplaceAll(s, "`", "")
}

// replaceBetween replaces what lies between the lines start and end of s.
func replaceBetween(s, start, end, with string) (string, error) {
	i := strings.Index(s, start)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		return "", fmt.Errorf("no %q ... %q", start, end)
	}
	return s[:i+len(start)] + with + s[j:], nil
}

// goDocMarker is the line of doc.go that the list of variables follows,
// after an empty comment line: the list is the code block there.
const goDocMarker = "// says (docs/serve.md shows the same table, with links):\n//\n"

// replaceGoDocBlock replaces the code block that follows goDocMarker.
func replaceGoDocBlock(s, with string) (string, error) {
	i := strings.Index(s, goDocMarker)
	if i < 0 {
		return "", fmt.Errorf("no %q", goDocMarker)
	}
	i += len(goDocMarker)
	j := i
	for strings.HasPrefix(s[j:], "//\t") {
		j += strings.IndexByte(s[j:], '\n') + 1
	}
	if j == i {
		return "", fmt.Errorf("no code block after %q", goDocMarker)
	}
	return s[:i] + with + s[j:], nil
}

// TestPlain: the package doc's text keeps the words of a link.
func TestPlain(t *testing.T) {
	assert.Equal(t, "the store: sqlite:PATH", plain("the store: `sqlite:PATH` ([below](#payhook_store))"))
	assert.Equal(t, "the Standard Webhooks secret", plain("the [Standard Webhooks](https://x) secret"))
}
