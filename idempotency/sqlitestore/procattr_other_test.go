//go:build !linux

package sqlitestore_test

import "syscall"

// childAttr is nil: only Linux can kill a test's child with the test.
func childAttr() *syscall.SysProcAttr { return nil }
