//go:build !linux

package asynqinbox_test

import "syscall"

// childAttr is nil: only Linux can kill a test's child process with the test.
func childAttr() *syscall.SysProcAttr { return nil }
