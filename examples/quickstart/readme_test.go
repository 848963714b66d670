//go:build unix

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeAsWritten follows the README as a newcomer does (issue 20),
// outside the repository and without the network: it installs payhook
// with the README's own lines, makes the quick start's fresh module beside
// a clone with the README's lines for using the clone, pastes the program
// from the README's Go block, runs it with the README's run line, and pays
// it with the README's send line. Every command comes from the README's
// code blocks, run by sh as written; only `go get`, which needs a
// published release, is left out, as the README says to do until then.
func TestReadmeAsWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("installs cmd/payhook and builds a module")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)

	commands := blocks(t, section(t, string(readme), "The two commands"), "sh")
	require.NotEmpty(t, commands, "the two commands' blocks")
	var install, send []string // the lines before serve; the send line
	for _, l := range lines(commands[0]) {
		switch {
		case strings.Contains(l, "payhook send "):
			send = append(send, l)
		case strings.Contains(l, "payhook serve"):
		case send == nil:
			install = append(install, l)
		}
	}
	require.Len(t, send, 1, "one send line: %q", commands[0])
	require.Contains(t, strings.Join(install, "\n"), "install", "the lines that install payhook")

	quick := section(t, string(readme), "Quick start")
	sh := blocks(t, quick, "sh")
	require.Len(t, sh, 3, "the quick start's blocks: the module, the clone, the run line")
	programs := blocks(t, quick, "go")
	require.Len(t, programs, 1, "the quick start's program")
	var module []string
	for _, l := range lines(sh[0]) {
		if !strings.HasPrefix(l, "go get ") { // needs a release; the next block replaces it
			module = append(module, l)
		}
	}
	clone := lines(sh[1])
	require.Contains(t, strings.Join(clone, "\n"), "-replace github.com/payhook/payhook=../payhook")
	run := lines(sh[2])
	require.Len(t, run, 1, "one run line")

	free(t, ":8080") // the quick start listens there, as written; so does serve

	// A home of our own: payhook is installed into its GOPATH's bin, the
	// module cache stays the machine's. Offline: no proxy, and no checksum
	// database for the go.sum that go mod tidy writes.
	dir := t.TempDir()
	require.NoError(t, os.Symlink(root, filepath.Join(dir, "payhook"))) // the clone, beside the shop
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	base := []string{"GOPATH=" + filepath.Join(dir, "gopath"), "GOMODCACHE=" + strings.TrimSpace(string(modcache)),
		"GOBIN=", "GOPROXY=off", "GOSUMDB=off"}
	inRepo := env(base...) // the repository's go.work ties cmd/payhook to the tree
	outside := env(append(base, "GOWORK=off", "GOFLAGS=-mod=mod")...)

	shell(t, root, inRepo, install...)
	shell(t, dir, outside, module...)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shop", "main.go"), []byte(programs[0]), 0o644))
	shell(t, filepath.Join(dir, "shop"), outside, clone...)

	shopLog, _ := start(t, filepath.Join(dir, "shop"), outside, run...)

	var path []string // the install lines less the install: the PATH
	for _, l := range install {
		if !strings.Contains(l, " install ") {
			path = append(path, l)
		}
	}
	paid := shell(t, dir, inRepo, append(path, send[0])...)
	assert.Contains(t, paid, "200 OK: ok")
	assert.Regexp(t, regexp.MustCompile(`order paid.*1001`), shopLog())

	again := shell(t, dir, inRepo, append(path, send[0])...)
	assert.Contains(t, again, "already processed")
	assert.Equal(t, 1, strings.Count(shopLog(), "order paid"), "%s", shopLog())
}

// TestReadmeServe runs the README's first command as written, payhook
// serve on its SQLite default, and its send line against it: the first
// delivery is printed, the second answered "already processed", the
// payhook.db is in serve's working directory, and Ctrl-C (SIGINT) stops
// it gracefully.
func TestReadmeServe(t *testing.T) {
	if testing.Short() {
		t.Skip("installs cmd/payhook")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	commands := blocks(t, section(t, string(readme), "The two commands"), "sh")
	require.NotEmpty(t, commands)
	var path, serve, send []string
	for _, l := range lines(commands[0]) {
		switch {
		case strings.Contains(l, "payhook send "):
			send = append(send, l)
		case strings.Contains(l, "payhook serve"):
			serve = append(serve, l)
		case strings.Contains(l, " install "):
		case serve == nil:
			path = append(path, l)
		}
	}
	require.Len(t, serve, 1)
	require.Len(t, send, 1)
	free(t, ":8080", "127.0.0.1:9090") // serve's webhooks and admin listener, by default

	dir := t.TempDir()
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	// Only what the README sets: none of payhook's variables from the
	// environment of the test.
	var vars []string
	for _, kv := range os.Environ() {
		for _, prefix := range []string{"PAYHOOK_", "KAZAWALLET_", "KKIAPAY_", "KASPEROPAY_"} {
			if strings.HasPrefix(kv, prefix) {
				name, _, _ := strings.Cut(kv, "=")
				vars = append(vars, name+"=")
			}
		}
	}
	e := env(append(vars, "GOPATH="+filepath.Join(dir, "gopath"), "GOMODCACHE="+strings.TrimSpace(string(modcache)),
		"GOBIN=", "GOPROXY=off")...)
	shell(t, root, e, "go -C cmd/payhook install .")

	work := filepath.Join(dir, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	serveLog, stop := start(t, work, e, append(path, serve[0])...)
	out := shell(t, dir, e, append(path, send[0])...)
	assert.Contains(t, out, "200 OK: ok")
	assert.Contains(t, serveLog(), `{"provider":"kazawallet","key":"ord_123","event":{"order_id":"ord_123","amount":"10.00"`)
	out = shell(t, dir, e, append(path, send[0])...)
	assert.Contains(t, out, "200 OK: already processed")
	assert.FileExists(t, filepath.Join(work, "payhook.db"), "serve's default store, in its working directory")

	stop() // Ctrl-C
	assert.Contains(t, serveLog(), "shutting down", "a graceful shutdown")
}

// free fails (under CI) or skips the test when an address is taken.
func free(t *testing.T, addrs ...string) {
	t.Helper()
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			if os.Getenv("CI") == "" {
				t.Skipf("%s is taken (a payhook serve running?): %v", addr, err)
			}
			t.Fatalf("%s is taken: %v", addr, err)
		}
		require.NoError(t, l.Close())
	}
}

// start runs the lines with sh in dir, in a process group of their own,
// until something listens on port 8080. It returns a func that reads their
// output, and one that stops the group with SIGINT, as Ctrl-C does, and
// waits until port 8080 is free; the test's end calls it too.
func start(t *testing.T, dir string, env []string, lines ...string) (read func() string, stop func()) {
	t.Helper()
	logs, err := os.Create(filepath.Join(t.TempDir(), "out.log"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = logs.Close() })
	read = func() string {
		out, _ := os.ReadFile(logs.Name())
		return string(out)
	}
	cmd := exec.Command("sh", "-c", strings.Join(lines, "\n"))
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // what sh starts (go run's child) is stopped too
	require.NoError(t, cmd.Start())
	var waited error
	exited := make(chan struct{})
	go func() { waited = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
			<-exited
			gone(t) // sh may be gone before what it started
		})
	}
	t.Cleanup(stop)
	listening(t, exited, func() string { return fmt.Sprintf("%v:\n%s", waited, read()) })
	return read, stop
}

// gone waits until nothing listens on port 8080 any more.
func gone(t *testing.T) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "localhost:8080")
		if err != nil {
			return
		}
		_ = c.Close()
		select {
		case <-timeout:
			t.Errorf("port 8080 still answers 30 s after SIGINT")
			return
		case <-tick.C:
		}
	}
}

// TestDocsCloneLines runs, for each page that says how to use a clone
// until a release exists, its replace lines as written, in a fresh module
// beside a clone, offline, and builds a program importing every module
// they replace; each module the page tells to go get is among them.
func TestDocsCloneLines(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every store and inbox module")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	require.NoError(t, err)
	outside := env("GOMODCACHE="+strings.TrimSpace(string(modcache)), "GOPROXY=off", "GOSUMDB=off",
		"GOWORK=off", "GOFLAGS=-mod=mod")
	replaced := regexp.MustCompile("-replace (github\\.com/payhook/payhook[^\\s`]*)=\\.\\./payhook")
	gotten := regexp.MustCompile("go get (github\\.com/payhook/payhook[^\\s`]*)")
	for _, page := range []string{"README.md", "docs/kazawallet.md", "docs/stores.md", "docs/inbox.md"} {
		t.Run(page, func(t *testing.T) {
			md, err := os.ReadFile(filepath.Join(root, page))
			require.NoError(t, err)
			var clone []string
			for _, b := range blocks(t, string(md), "sh") {
				if strings.Contains(b, "go mod edit -replace") {
					require.Nil(t, clone, "one block of replace lines")
					clone = lines(b)
				}
			}
			require.NotNil(t, clone, "%s says how to use a clone", page)
			var imports []string
			mods := map[string]bool{}
			for _, m := range replaced.FindAllStringSubmatch(strings.Join(clone, "\n"), -1) {
				mods[m[1]] = true
				imports = append(imports, "\t_ \""+m[1]+"\"\n")
			}
			for _, m := range gotten.FindAllStringSubmatch(string(md), -1) {
				assert.True(t, mods[m[1]], "%s: go get %s, but no replace line for it", page, m[1])
			}

			dir := t.TempDir()
			require.NoError(t, os.Symlink(root, filepath.Join(dir, "payhook")))
			mod := filepath.Join(dir, "app")
			require.NoError(t, os.Mkdir(mod, 0o755))
			prog := "package main\n\nimport (\n" + strings.Join(imports, "") + ")\n\nfunc main() {}\n"
			require.NoError(t, os.WriteFile(filepath.Join(mod, "main.go"), []byte(prog), 0o644))
			shell(t, mod, outside, "go mod init example.com/app")
			shell(t, mod, outside, clone...)
			shell(t, mod, outside, "go build -o /dev/null .")
		})
	}
}

// section is the text of the README's "## name" section.
func section(t *testing.T, md, name string) string {
	t.Helper()
	_, s, ok := strings.Cut(md, "\n## "+name+"\n")
	require.True(t, ok, "the README has a section %q", name)
	s, _, _ = strings.Cut(s, "\n## ")
	return s
}

// blocks are the fenced blocks of md in language lang, in order.
func blocks(t *testing.T, md, lang string) []string {
	t.Helper()
	var out []string
	for rest := md; ; {
		_, b, ok := strings.Cut(rest, "\n```"+lang+"\n")
		if !ok {
			return out
		}
		b, rest, ok = strings.Cut(b, "\n```\n")
		require.True(t, ok, "an unclosed block")
		out = append(out, b+"\n")
	}
}

// lines are a shell block's commands: its lines less blanks and comments.
func lines(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// env is the test's environment with vars set (an empty value unsets).
func env(vars ...string) []string {
	e := os.Environ()
	for _, v := range vars {
		name, _, _ := strings.Cut(v, "=")
		e = slices.DeleteFunc(e, func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
		if !strings.HasSuffix(v, "=") {
			e = append(e, v)
		}
	}
	return e
}

// shell runs the lines with sh -e in dir, and returns their output.
func shell(t *testing.T, dir string, env []string, lines ...string) string {
	t.Helper()
	cmd := exec.Command("sh", "-ec", strings.Join(lines, "\n"))
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "in %s:\n%s\n%s", dir, strings.Join(lines, "\n"), out)
	return string(out)
}

// listening waits until something listens on port 8080, or the command has
// exited (why then says why).
func listening(t *testing.T, exited <-chan struct{}, why func() string) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.Dial("tcp", "localhost:8080")
		if err == nil {
			require.NoError(t, c.Close())
			return
		}
		select {
		case <-exited:
			t.Fatalf("exited before it listened on port 8080: %s", why())
		case <-tick.C:
		}
	}
}
