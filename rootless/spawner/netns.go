package main

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// A container's network namespace in one request, on a thread of its own (locked and never
// unlocked, so the runtime discards it afterwards): unshare(CLONE_NEWNET), pin the netns on Target
// with a bind mount, run `ip -b -` there with Batch, then setns into PeerNs and run PeerBatch.
// The same steps as `unshare -n sh -ec 'mount --bind …; ip -b -; … | nsenter --net=… ip -b -'`
// (slirp/netns.ts, still the fallback), without four of its six processes.
func createNetns(req request) reply {
	done := make(chan reply)
	go func() {
		runtime.LockOSThread()
		done <- createNetnsLocked(req)
	}()
	return <-done
}

func createNetnsLocked(req request) reply {
	r := reply{Seq: req.Seq}
	if err := syscall.Unshare(syscall.CLONE_NEWNET); err != nil {
		return failed(r, "unshare: "+err.Error())
	}
	if err := syscall.Mount("/proc/thread-self/ns/net", req.Target, "", syscall.MS_BIND, ""); err != nil {
		return failed(r, "mount: "+req.Target+": "+err.Error())
	}
	if out, ok := ipBatch(req, req.Batch, false); !ok {
		return failed(r, out)
	}
	if req.PeerBatch == "" {
		r.Code = intp(0)
		return r
	}
	if err := enter(req.PeerNs); err != nil {
		return failed(r, err.Error())
	}
	if out, ok := ipBatch(req, req.PeerBatch, false); !ok {
		return failed(r, out)
	}
	r.Code = intp(0)
	return r
}

// removeNetns deletes PeerBatch's links in PeerNs (forced: lines whose links vanished are
// skipped) and unmounts Target (lazily when busy). Like the shell it replaces, it never fails.
func removeNetns(req request) reply {
	done := make(chan reply)
	go func() {
		runtime.LockOSThread()
		r := reply{Seq: req.Seq, Code: intp(0)}
		if req.PeerBatch != "" {
			if err := enter(req.PeerNs); err == nil {
				ipBatch(req, req.PeerBatch, true)
			}
		}
		if req.Target != "" && syscall.Unmount(req.Target, 0) != nil {
			syscall.Unmount(req.Target, syscall.MNT_DETACH)
		}
		done <- r
	}()
	return <-done
}

func enter(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, _, errno := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); errno != 0 {
		return &os.PathError{Op: "setns", Path: path, Err: errno}
	}
	return nil
}

// ipBatch runs `ip [-force] -b -` from the calling (locked) thread, so in its network namespace.
func ipBatch(req request, batch string, force bool) (string, bool) {
	path, err := lookPath("ip", req.Env)
	if err != nil {
		return "ip: " + err.Error(), false
	}
	args := []string{"ip", "-b", "-"}
	if force {
		args = []string{"ip", "-force", "-b", "-"}
	}
	var stderr bytes.Buffer
	cmd := &exec.Cmd{Path: path, Args: args, Env: req.Env, Stdin: bytes.NewReader([]byte(batch)), Stderr: &stderr}
	if err := cmd.Run(); err != nil {
		msg := bytes.TrimSpace(stderr.Bytes())
		if len(msg) == 0 {
			return "ip: " + err.Error(), false
		}
		return string(msg), false
	}
	return "", true
}

func failed(r reply, msg string) reply {
	r.Code = intp(1)
	r.Stderr = []byte(msg)
	return r
}
