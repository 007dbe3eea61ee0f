package main

import "syscall"

// dispatch runs one request: a tool, or a mount syscall in the helper's (the daemon's) mount
// namespace. A syscall's reply looks like mount(8)'s: exit code 0, or 32 with its words on stderr.
func dispatch(req request) reply {
	switch req.Op {
	case "mount":
		return syscallReply(req, "mount", syscall.Mount(req.FsType, req.Target, req.FsType, 0, req.Data))
	case "umount":
		flags := 0
		if req.Lazy {
			flags = syscall.MNT_DETACH
		}
		return syscallReply(req, "umount", syscall.Unmount(req.Target, flags))
	case "netns-create":
		return createNetns(req)
	case "netns-remove":
		return removeNetns(req)
	default:
		return run(req)
	}
}

func syscallReply(req request, what string, err error) reply {
	r := reply{Seq: req.Seq}
	if err == nil {
		r.Code = intp(0)
		return r
	}
	r.Code = intp(32)
	r.Stderr = []byte(what + ": " + req.Target + ": " + err.Error())
	return r
}
