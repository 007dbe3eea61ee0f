package main

import (
	"syscall"
	"unsafe"
)

// pidfd_open(2): the same number on every architecture (Linux 5.3 and later).
const sysPidfdOpen = 434

// waitExit returns once the process pid has exited (at once if there is no such process). The
// daemon asks it of the hub's uplink (pasta or slirp4netns), which it cannot wait for itself: the
// uplink is detached, so that it outlives daemon restarts, and an adopted one is nobody's child.
// A pidfd turns readable when its process exits; a blocked ppoll costs one idle thread.
func waitExit(pid int) error {
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	if errno == syscall.ESRCH {
		return nil
	}
	if errno != 0 {
		return errno
	}
	defer syscall.Close(int(fd))
	pfd := struct {
		fd      int32
		events  int16
		revents int16
	}{fd: int32(fd), events: 0x1} // POLLIN
	for {
		_, _, errno = syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, 0, 0, 0, 0)
		if errno != syscall.EINTR {
			break
		}
	}
	if errno != 0 {
		return errno
	}
	return nil
}
