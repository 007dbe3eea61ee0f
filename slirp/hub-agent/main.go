// Command hub-agent relays Burrow's published ports and serves its user networks' DNS.
//
//	hub-agent <hub netns path> [--transparent=4|6|46]
//
// The daemon starts it in the host netns (inside Burrow's user namespace) and talks to it in JSON
// lines: requests on stdin, one reply per request on stdout, logs on stderr. Published ports bind
// here, in the host netns; one thread enters the hub netns to open sockets there (see hubns.go).
// When stdin ends the daemon is gone, and the agent exits: the next daemon starts a fresh one and
// publishes again. The requests are slirp/agent-protocol.ts.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

type target struct {
	IP   string `json:"ip"`
	Port int    `json:"port"`
}

type request struct {
	Seq       int          `json:"seq"`
	Op        string       `json:"op"`
	Key       string       `json:"key"`
	Proto     string       `json:"proto"`
	HostIP    string       `json:"hostIp"`
	Port      int          `json:"port"`
	Bound     string       `json:"bound"`
	Target    target       `json:"target"`
	Networks  []dnsNetwork `json:"networks"`
	Upstreams []string     `json:"upstreams"`
	Pid       int          `json:"pid"`
}

type reply struct {
	Seq   int    `json:"seq"`
	Error string `json:"error,omitempty"`
	// Code is the errno's name (EADDRINUSE, EACCES, ...), for the daemon's dockerd-shaped message.
	Code string `json:"code,omitempty"`
	Port int    `json:"port,omitempty"`
}

type agent struct {
	hub   *hubThread
	dns   *dnsService
	ports map[string]port
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix(fmt.Sprintf("hub-agent[%d] ", os.Getpid()))
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: hub-agent <hub netns path> [--transparent=4|6|46]")
		os.Exit(2)
	}
	// --transparent: the hub routes replies to transparent sockets for these families (transparent.go).
	hub, err := enterHub(os.Args[1], parseTransparency(os.Args[2:]))
	if err != nil {
		log.Fatalf("cannot enter the hub netns: %v", err)
	}
	log.Printf("relaying for the hub netns %s", os.Args[1])
	a := &agent{hub: hub, dns: newDNSService(hub), ports: map[string]port{}}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 64<<20) // DNS tables of big networks make long lines
	out := &replies{enc: json.NewEncoder(os.Stdout)}
	// A second after the last request the free heap goes back to the kernel: Go keeps what a burst
	// used (a DNS table is pushed for every start), as the spawner does (rootless/spawner/main.go).
	release := time.AfterFunc(time.Hour, debug.FreeOSMemory)
	release.Stop()
	// One request at a time, in order: each is a few syscalls, and order keeps a close ahead of
	// the bind that reuses its port. A watch is the exception: it is answered when its process
	// exits, which may be never.
	for in.Scan() {
		var req request
		var r reply
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			r.Error = "bad request: " + err.Error()
		} else if req.Op == "watch" {
			go func(seq, pid int) {
				r := reply{Seq: seq}
				if err := waitExit(pid); err != nil {
					r = failure(err)
					r.Seq = seq
				}
				out.send(&r)
			}(req.Seq, req.Pid)
			continue
		} else {
			r = a.handle(&req)
			r.Seq = req.Seq
		}
		out.send(&r)
		release.Reset(time.Second)
	}
	if err := in.Err(); err != nil {
		log.Fatalf("requests: %v", err)
	}
	// The daemon is gone: published ports and DNS go with it until the next daemon restores them.
	os.Exit(0)
}

// replies writes one reply a line; a watch answers from its own goroutine.
type replies struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (o *replies) send(r *reply) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.enc.Encode(r); err != nil {
		log.Fatalf("reply: %v", err)
	}
}

func (a *agent) handle(req *request) reply {
	switch req.Op {
	case "bind":
		p, port, err := bind(req.Proto, req.HostIP, req.Port)
		if err != nil {
			return failure(err)
		}
		a.closePort(req.Key)
		a.ports[req.Key] = p
		return reply{Port: port}
	case "forward":
		p := a.ports[req.Bound]
		ip := net.ParseIP(req.Target.IP)
		if p == nil {
			return reply{Error: fmt.Sprintf("no bound port %q", req.Bound)}
		}
		if ip == nil {
			return reply{Error: fmt.Sprintf("bad target address %q", req.Target.IP)}
		}
		delete(a.ports, req.Bound)
		a.closePort(req.Key)
		a.ports[req.Key] = p
		p.forward(a.hub, &net.TCPAddr{IP: ip, Port: req.Target.Port})
		return reply{}
	case "close":
		a.closePort(req.Key)
		return reply{}
	case "dns":
		if err := a.dns.set(req.Networks, req.Upstreams); err != nil {
			return failure(err)
		}
		return reply{}
	}
	return reply{Error: fmt.Sprintf("unknown op %q", req.Op)}
}

func (a *agent) closePort(key string) {
	if p := a.ports[key]; p != nil {
		p.close()
		delete(a.ports, key)
	}
}

// bind opens a published port's host side. IPv4 addresses bind IPv4 only and "::" both families,
// as the daemon's own sockets did.
func bind(proto, hostIP string, portNum int) (port, int, error) {
	ip := net.ParseIP(hostIP)
	if ip == nil {
		return nil, 0, fmt.Errorf("bad host address %q", hostIP)
	}
	network := proto
	if ip.To4() != nil {
		network += "4"
	} else if !ip.IsUnspecified() {
		network += "6"
	}
	switch proto {
	case "tcp":
		ln, err := net.ListenTCP(network, &net.TCPAddr{IP: ip, Port: portNum})
		if err != nil {
			return nil, 0, err
		}
		return &tcpPort{ln: ln, conns: map[*net.TCPConn]struct{}{}}, ln.Addr().(*net.TCPAddr).Port, nil
	case "udp":
		c, err := net.ListenUDP(network, &net.UDPAddr{IP: ip, Port: portNum})
		if err != nil {
			return nil, 0, err
		}
		return &udpPort{host: c, sessions: map[string]*udpSession{}}, c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	return nil, 0, fmt.Errorf("cannot publish %s ports", proto)
}

var errnoNames = map[syscall.Errno]string{
	syscall.EADDRINUSE:    "EADDRINUSE",
	syscall.EADDRNOTAVAIL: "EADDRNOTAVAIL",
	syscall.EACCES:        "EACCES",
	syscall.EPERM:         "EPERM",
	syscall.EAFNOSUPPORT:  "EAFNOSUPPORT",
}

func failure(err error) reply {
	r := reply{Error: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Code = errnoNames[errno]
	}
	return r
}
