package testserver

import "syscall"

// childAttr makes a test's child process die with the test, even when the
// test binary is killed.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
