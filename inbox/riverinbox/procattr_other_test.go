//go:build unix && !linux

package riverinbox_test

import "syscall"

// childAttr: only Linux can kill a test's child process with the test.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
