package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A tool whose stdio the daemon streams (`crun exec` for `docker exec`): the tool gets pipes, as it
// would from the daemon, and each pipe is relayed to a connection the daemon makes to the socket,
// announcing itself with one line, "<seq> <stdin|stdout|stderr>". The first reply says the tool
// started (its pid) or could not; the second, with Exited, how it ended. Output may still be in
// flight then, as after a child's 'exit' in Node; each connection closes at its pipe's end.

type pendingStream struct {
	conns map[string]net.Conn
	ready chan struct{}
	want  int
}

var (
	streamsMu sync.Mutex
	streams   = map[int64]*pendingStream{}
)

func pendingFor(seq int64) *pendingStream {
	streamsMu.Lock()
	defer streamsMu.Unlock()
	p := streams[seq]
	if p == nil {
		p = &pendingStream{conns: map[string]net.Conn{}, ready: make(chan struct{}), want: -1}
		streams[seq] = p
	}
	return p
}

// arrived records a connection (name "") or the number of them the request wants; it closes ready
// once both are known and complete.
func arrived(seq int64, name string, c net.Conn, want int) {
	p := pendingFor(seq)
	streamsMu.Lock()
	defer streamsMu.Unlock()
	if c != nil {
		p.conns[name] = c
	}
	if want >= 0 {
		p.want = want
	}
	if p.want >= 0 && len(p.conns) == p.want {
		close(p.ready)
	}
}

func listenStreams(path string) error {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	os.Chmod(path, 0o600)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go announce(c)
		}
	}()
	return nil
}

func announce(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// Byte by byte up to the newline: nothing after it may be read into a buffer (it is stdin).
	var line []byte
	b := make([]byte, 1)
	for len(line) < 64 {
		if _, err := c.Read(b); err != nil {
			c.Close()
			return
		}
		if b[0] == '\n' {
			break
		}
		line = append(line, b[0])
	}
	c.SetReadDeadline(time.Time{})
	f := strings.Fields(string(line))
	if len(f) != 2 {
		c.Close()
		return
	}
	seq, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		c.Close()
		return
	}
	arrived(seq, f[1], c, -1)
}

func stream(req request, send func(reply)) {
	r := reply{Seq: req.Seq}
	arrived(req.Seq, "", nil, len(req.Streams))
	p := pendingFor(req.Seq)
	defer func() {
		streamsMu.Lock()
		delete(streams, req.Seq)
		streamsMu.Unlock()
	}()
	select {
	case <-p.ready:
	case <-time.After(10 * time.Second):
		streamsMu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		streamsMu.Unlock()
		send(startFailed(r, req.Tool, syscall.ETIMEDOUT))
		return
	}
	conns := p.conns
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	path, err := lookPath(req.Tool, req.Env)
	if err != nil {
		closeAll()
		send(startFailed(r, req.Tool, err))
		return
	}
	cmd := &exec.Cmd{Path: path, Args: append([]string{req.Tool}, req.Args...), Env: req.Env, Dir: req.Cwd}
	if req.Detached {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	// The tool's ends of the pipes, closed here once it has them.
	var theirs []*os.File
	var relays []func()
	for _, name := range []string{"stdin", "stdout", "stderr"} {
		c, ok := conns[name]
		if !ok {
			continue
		}
		rd, wr, err := os.Pipe()
		if err != nil {
			closeAll()
			send(startFailed(r, req.Tool, err))
			return
		}
		switch name {
		case "stdin":
			cmd.Stdin = rd
			theirs = append(theirs, rd)
			relays = append(relays, func() {
				io.Copy(wr, c)
				wr.Close()
			})
		case "stdout", "stderr":
			if name == "stdout" {
				cmd.Stdout = wr
			} else {
				cmd.Stderr = wr
			}
			theirs = append(theirs, wr)
			relays = append(relays, func() {
				io.Copy(c, rd)
				rd.Close()
				c.Close()
			})
		}
	}
	err = cmd.Start()
	for _, f := range theirs {
		f.Close()
	}
	if err != nil {
		closeAll()
		send(startFailed(r, req.Tool, err))
		return
	}
	for _, relay := range relays {
		go relay()
	}
	r.Pid = cmd.Process.Pid
	send(r)
	cmd.Wait()
	done := finish(reply{Seq: req.Seq, Exited: true}, cmd.ProcessState)
	send(done)
	// Input nobody will read any more: the daemon sees its connection end.
	if c, ok := conns["stdin"]; ok {
		c.Close()
	}
}
