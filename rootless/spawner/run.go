package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// lookPath finds tool on the PATH of the tool's own environment, as Node's spawn does (execvp
// with the child's env), not on the helper's.
func lookPath(tool string, env []string) (string, error) {
	if strings.Contains(tool, "/") {
		return tool, nil
	}
	path := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			path = kv[5:]
		}
	}
	var firstErr error = syscall.ENOENT
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, tool)
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if st.Mode().IsDir() || st.Mode()&0o111 == 0 {
			firstErr = syscall.EACCES
			continue
		}
		return p, nil
	}
	return "", firstErr
}

func errnoName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		if name, ok := errnoNames[en]; ok {
			return name
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return errnoName(pe.Err)
	}
	return "EIO"
}

func intp(n int) *int { return &n }

func startFailed(r reply, tool string, err error) reply {
	r.Errno = errnoName(err)
	r.Error = "spawn " + tool + " " + r.Errno
	return r
}

// finish fills in how the process ended: an exit code, or the signal that killed it.
func finish(r reply, state *os.ProcessState) reply {
	if state == nil {
		return r
	}
	ws, ok := state.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		name := signalName(ws.Signal())
		r.Signal = &name
		return r
	}
	r.Code = intp(state.ExitCode())
	return r
}

func run(req request) reply {
	r := reply{Seq: req.Seq}
	path, err := lookPath(req.Tool, req.Env)
	if err != nil {
		return startFailed(r, req.Tool, err)
	}
	cmd := &exec.Cmd{Path: path, Args: append([]string{req.Tool}, req.Args...), Env: req.Env, Dir: req.Cwd}
	if req.Detached {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if req.SyncPipe {
		return runSynced(r, req, cmd)
	}
	if req.HasInput {
		cmd.Stdin = bytes.NewReader(req.Input)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return startFailed(r, req.Tool, err)
	}
	r.Pid = cmd.Process.Pid
	var timer *time.Timer
	timedOut := make(chan struct{})
	if req.TimeoutMs > 0 {
		timer = time.AfterFunc(time.Duration(req.TimeoutMs)*time.Millisecond, func() {
			close(timedOut)
			cmd.Process.Signal(syscall.SIGTERM)
		})
	}
	cmd.Wait()
	if timer != nil && !timer.Stop() {
		<-timedOut
		r.TimedOut = true
	}
	r.Stdout = stdout.Bytes()
	r.Stderr = stderr.Bytes()
	return finish(r, cmd.ProcessState)
}

var syncMessage = regexp.MustCompile(`\{[^{}]*\}`)

// runSynced starts conmon: its reply is the first JSON object on the sync pipe (or what its
// stderr file says once the pipe ends without one, which the daemon reads). conmon daemonizes:
// the process started here is reaped when it exits, and nobody waits for that.
func runSynced(r reply, req request, cmd *exec.Cmd) reply {
	rd, wr, err := os.Pipe()
	if err != nil {
		return startFailed(r, req.Tool, err)
	}
	defer rd.Close()
	errFile, err := os.OpenFile(req.StderrFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		wr.Close()
		return startFailed(r, req.Tool, err)
	}
	cmd.Stderr = errFile
	cmd.ExtraFiles = []*os.File{wr}
	err = cmd.Start()
	wr.Close()
	errFile.Close()
	if err != nil {
		return startFailed(r, req.Tool, err)
	}
	r.Pid = cmd.Process.Pid
	go cmd.Wait()
	if req.TimeoutMs > 0 {
		rd.SetReadDeadline(time.Now().Add(time.Duration(req.TimeoutMs) * time.Millisecond))
	}
	var text []byte
	buf := make([]byte, 4096)
	for {
		n, err := rd.Read(buf)
		text = append(text, buf[:n]...)
		if m := syncMessage.Find(text); m != nil {
			r.Sync = string(m)
			return r
		}
		if err != nil {
			r.TimedOut = errors.Is(err, os.ErrDeadlineExceeded)
			r.Sync = string(text)
			return r
		}
	}
}
