// The spawner: a small long-lived helper that starts the daemon's short-lived tools on request
// (rootless/exec.ts sends them here). The daemon is a big Node process, and every fork of it copies
// its page tables and blocks its event loop until the child has exec'd (4–30 ms, worse under
// load); this process is a few MiB and Go starts children with vfork semantics, so a container
// start no longer stalls every other request. It runs in the daemon's user and mount namespaces
// (the daemon starts it), so the tools see exactly what they would have seen as the daemon's own.
//
// Protocol: JSON lines. A request a line on stdin, a reply a line on stdout, matched by seq; the
// requests run concurrently. The helper exits when its stdin ends (as it does when the daemon dies).
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"runtime/debug"
	"sync"
	"time"
)

type request struct {
	Seq int64 `json:"seq"`
	// Op: "" starts Tool; "mount" and "umount" are done here with the syscalls (mount.go), which
	// saves a mount(8) process each.
	Op     string `json:"op,omitempty"`
	Target string `json:"target,omitempty"`
	FsType string `json:"fstype,omitempty"`
	Data   string `json:"data,omitempty"`
	Lazy   bool   `json:"lazy,omitempty"`
	// "netns-create" and "netns-remove" (netns.go): Batch for `ip -b -` in the new netns, PeerNs
	// and PeerBatch for the other ends of its veths.
	Batch     string `json:"batch,omitempty"`
	PeerNs    string `json:"peerNs,omitempty"`
	PeerBatch string `json:"peerBatch,omitempty"`
	// "stream" (stream.go): the stdio the daemon connects to the socket for.
	Streams   []string `json:"streams,omitempty"`
	Tool      string   `json:"tool"`
	Args      []string `json:"args"`
	Env       []string `json:"env"`
	Cwd       string   `json:"cwd,omitempty"`
	Input     []byte   `json:"input,omitempty"`
	HasInput  bool     `json:"hasInput,omitempty"`
	TimeoutMs int64    `json:"timeoutMs,omitempty"`
	// SyncPipe: conmon's mode. fd 3 is a pipe whose first JSON object is the reply; stdin and
	// stdout are /dev/null, stderr goes to StderrFile, and the tool is not waited for.
	SyncPipe   bool   `json:"syncPipe,omitempty"`
	StderrFile string `json:"stderrFile,omitempty"`
	Detached   bool   `json:"detached,omitempty"`
}

type reply struct {
	Seq      int64   `json:"seq"`
	Pid      int     `json:"pid,omitempty"`
	Stdout   []byte  `json:"stdout,omitempty"`
	Stderr   []byte  `json:"stderr,omitempty"`
	Code     *int    `json:"code"`
	Signal   *string `json:"signal"`
	TimedOut bool    `json:"timedOut,omitempty"`
	// A tool that could not be started: Node's words ("spawn crun ENOENT") and the errno's name.
	Error string `json:"error,omitempty"`
	Errno string `json:"errno,omitempty"`
	Sync  string `json:"sync,omitempty"`
	// A stream's second reply: the tool has exited (Code or Signal say how).
	Exited bool `json:"exited,omitempty"`
}

// quietRelease is how long after its last reply the helper hands its free heap back to the kernel.
// Go keeps what a burst of starts used (its heap goal is at least 4 MiB): 20 concurrent `docker run`
// left this process 2.9 MiB bigger for good, for every user of the server.
const quietRelease = time.Second

func main() {
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	release := time.AfterFunc(time.Hour, debug.FreeOSMemory)
	release.Stop()
	send := func(r reply) {
		line, err := json.Marshal(r)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		out.Write(line)
		out.WriteByte('\n')
		out.Flush()
		release.Reset(quietRelease)
	}
	// With a socket path: tools whose stdio the daemon streams (`docker exec`) are served on it.
	if len(os.Args) > 1 {
		if err := listenStreams(os.Args[1]); err != nil {
			os.Stderr.WriteString("spawner: " + err.Error() + "\n")
		}
	}
	in := bufio.NewReaderSize(os.Stdin, 64*1024)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			var req request
			if json.Unmarshal(line, &req) == nil {
				if req.Op == "stream" {
					go stream(req, send)
				} else {
					go func() { send(dispatch(req)) }()
				}
			}
		}
		if err != nil {
			// The daemon is gone: running tools finish on their own; nobody waits for replies.
			os.Exit(0)
		}
	}
}
