package pgstore_test

import "syscall"

// childAttr makes a test's server run with cred (nil: as the test) and die
// with the test, even when the test binary is killed.
func childAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
}
