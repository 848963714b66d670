//go:build !linux

package redisstore_test

import "syscall"

// childAttr is nil: only Linux can kill a test's server with the test.
func childAttr() *syscall.SysProcAttr { return nil }
