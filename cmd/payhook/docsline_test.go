package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logKeys returns the keys of a logfmt line, in order, without time.
func logKeys(line string) []string {
	var keys []string
	for _, m := range regexp.MustCompile(`(?:^|\s)([a-z_]+)=`).FindAllStringSubmatch(line, -1) {
		if m[1] != "time" {
			keys = append(keys, m[1])
		}
	}
	return keys
}

// TestDocsStartUpLine (issue 20 §12): every start-up line the docs show
// has the keys of the line serve really prints (docs/sqlite.md's lacked
// rate_limit).
func TestDocsStartUpLine(t *testing.T) {
	vars := map[string]string{"PAYHOOK_STORE": "sqlite:" + filepath.Join(t.TempDir(), "payhook.db")}
	for k, v := range kazawalletEnv {
		vars[k] = v
	}
	_, _, stderr := startServe(t, vars)
	const msg = `msg="payhook: listening"`
	stderr.waitFor(t, 10*time.Second, func(s string) bool { return strings.Contains(s, msg) })
	var real string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, msg) {
			real = l
		}
	}
	want := logKeys(real)
	require.Contains(t, want, "rate_limit", real)

	pages, err := filepath.Glob(filepath.Join(pkgDir, "..", "..", "docs", "*.md"))
	require.NoError(t, err)
	pages = append(pages, filepath.Join(pkgDir, "..", "..", "README.md"))
	shown := 0
	for _, page := range pages {
		b, err := os.ReadFile(page)
		require.NoError(t, err)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, msg) {
				shown++
				assert.Equal(t, want, logKeys(l), "%s shows %s\nserve prints %s", filepath.Base(page), l, real)
			}
		}
	}
	assert.NotZero(t, shown, "no page shows the start-up line")
}
