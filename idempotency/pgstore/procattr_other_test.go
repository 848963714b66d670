//go:build unix && !linux

package pgstore_test

import "syscall"

// childAttr makes a test's server run with cred (nil: as the test). Only
// Linux can also kill it with the test.
func childAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred}
}
