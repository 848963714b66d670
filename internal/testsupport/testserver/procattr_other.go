//go:build unix && !linux

package testserver

import "syscall"

// childAttr: only Linux can kill a test's child process with the test.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
