//go:build unix

package pgstore_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/payhook/payhook/idempotency/exactlyoncetest"
	"github.com/payhook/payhook/internal/testsupport/testserver"
)

// pgServer is a PostgreSQL of the test's own, in a temporary directory.
// PostgreSQL refuses to run as root, so as root it runs as the postgres
// user.
type pgServer struct {
	t        *testing.T
	postgres string
	dir      string
	port     string
	cred     *syscall.Credential
	cmd      *exec.Cmd
}

// pgCommand finds a PostgreSQL program on PATH or where Debian puts it.
func pgCommand(t *testing.T, name string) string {
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	for _, v := range []string{"15", "16", "17", "14"} {
		if path := filepath.Join("/usr/lib/postgresql", v, "bin", name); fileExists(path) {
			return path
		}
	}
	return testserver.Command(t, name) // skips, or fails under CI
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func startPostgres(t *testing.T) *pgServer {
	s := &pgServer{t: t, postgres: pgCommand(t, "postgres"), port: testserver.FreePort(t)}
	initdb := pgCommand(t, "initdb")
	dir, err := os.MkdirTemp("", "pgstore-outage-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.dir = dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		require.NoError(t, err, "as root, PostgreSQL runs as the postgres user")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	out, err := s.command(initdb, "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput()
	require.NoError(t, err, "initdb: %s", out)
	s.start()
	t.Cleanup(func() {
		if s.cmd != nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	return s
}

func (s *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = childAttr(s.cred)
	return cmd
}

func (s *pgServer) start() {
	s.t.Helper()
	s.cmd = s.command(s.postgres, "-D", filepath.Join(s.dir, "data"), "-p", s.port, "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "logging_collector=off")
	log, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(s.t, err)
	defer log.Close()
	s.cmd.Stdout, s.cmd.Stderr = log, log
	require.NoError(s.t, s.cmd.Start())
	testserver.WaitListening(s.t, net.JoinHostPort("127.0.0.1", s.port))
	require.Eventually(s.t, func() bool { // listening comes before accepting sessions
		conn, err := pgx.Connect(context.Background(), s.url())
		if err == nil {
			conn.Close(context.Background())
		}
		return err == nil
	}, 30*time.Second, 10*time.Millisecond, "PostgreSQL accepts sessions")
}

// stop shuts the server down the way an operator would (fast shutdown:
// sessions are cut, committed data kept).
func (s *pgServer) stop() {
	s.t.Helper()
	require.NoError(s.t, s.cmd.Process.Signal(syscall.SIGINT))
	s.cmd.Wait()
	s.cmd = nil
}

func (s *pgServer) url() string {
	return "postgres://postgres@" + net.JoinHostPort("127.0.0.1", s.port) + "/postgres?sslmode=disable&connect_timeout=2"
}

func TestOutage(t *testing.T) {
	srv := startPostgres(t)
	pool, err := pgxpool.New(context.Background(), srv.url())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	exactlyoncetest.Outage(t, migrated(t, pool), srv.stop, srv.start)
}
