package main

import (
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// hubThread is one OS thread that moved into the hub netns and never leaves it. A socket belongs
// to the netns of the thread that created it and keeps it for life, so the agent creates its
// hub-side sockets (DNS listeners, connections to containers) here and uses them from any
// goroutine afterwards; every other thread stays in the host netns, where published ports bind.
type hubThread struct {
	work chan func()
	tp   *transparency
}

// enterHub starts the hub thread. setns(CLONE_NEWNET) needs CAP_SYS_ADMIN in the user namespace
// that owns the hub netns, which the daemon's namespace has and passes on to this process.
func enterHub(path string, tp *transparency) (*hubThread, error) {
	h := &hubThread{work: make(chan func()), tp: tp}
	ready := make(chan error)
	go func() {
		// Never unlocked: if setns fails the goroutine returns locked and the runtime discards the
		// thread, and once it succeeds no other goroutine may run on it. Threads the runtime starts
		// later come from its template thread, so none inherits the hub netns.
		runtime.LockOSThread()
		f, err := os.Open(path)
		if err != nil {
			ready <- err
			return
		}
		_, _, errno := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0)
		f.Close()
		if errno != 0 {
			ready <- fmt.Errorf("setns %s: %w", path, errno)
			return
		}
		close(ready)
		for fn := range h.work {
			fn()
		}
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return h, nil
}

// do runs fn on the hub thread and waits for it. fn must not block: it holds up every other
// hub-side socket creation (socket, bind, listen and a non-blocking connect are fine).
func (h *hubThread) do(fn func()) {
	done := make(chan struct{})
	h.work <- func() {
		fn()
		close(done)
	}
	<-done
}
