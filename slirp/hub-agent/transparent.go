package main

import (
	"errors"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Transparent relaying: the hub-side socket to a container is bound to the client's own address,
// so the container sees who connected (as behind dockerd's DNAT) instead of the hub's gateway.
// IP_TRANSPARENT lets a socket bind an address the hub does not have; the agent has CAP_NET_ADMIN
// over the hub netns (its user namespace owns it). The container's replies to that address must
// come back to the socket instead of leaving through the uplink: the socket marks what it sends
// (SO_MARK), the hub's mangle rules copy that mark to the connection and from it onto the replies,
// and marked packets are routed to the hub itself (slirp/hub.ts sets both up and tells the agent
// which families work with --transparent).

// sockMark is what a transparent socket marks its packets with; slirp/hub.ts matches it.
const sockMark = 0x2

const ipv6Transparent = 75 // IPV6_TRANSPARENT, not in package syscall

// transparency says for which families the hub routes replies to transparent sockets; a socket
// option the kernel refuses turns it off for good (logged once), and relays go on as before.
type transparency struct {
	v4, v6 atomic.Bool
	off    sync.Once
}

// parseTransparency reads --transparent=4, =6 or =46.
func parseTransparency(args []string) *transparency {
	t := &transparency{}
	for _, a := range args {
		if strings.HasPrefix(a, "--transparent=") {
			fams := strings.TrimPrefix(a, "--transparent=")
			t.v4.Store(strings.Contains(fams, "4"))
			t.v6.Store(strings.Contains(fams, "6"))
		}
	}
	return t
}

// source is the address a connection from client to target should come from, or nil for the hub's
// own (the gateway): loopback and link-local clients cannot be sources on a bridge (dockerd's
// userland proxy also shows the gateway for them), and a family change (an IPv6 client of an
// IPv4 container) has no faithful source either.
// sourceAddr is the address (and the client's own port) a hub-side socket to `target` binds to, or
// nil when the hub's own address must serve (see source).
func (t *transparency) sourceAddr(client net.IP, port int, target net.IP) *net.UDPAddr {
	if sip := t.source(client, target); sip != nil {
		return &net.UDPAddr{IP: sip, Port: port}
	}
	return nil
}

func (t *transparency) source(client net.IP, target net.IP) net.IP {
	if t == nil || client == nil || client.IsLoopback() || client.IsUnspecified() || client.IsLinkLocalUnicast() || client.IsMulticast() {
		return nil
	}
	if target.To4() != nil {
		if v4 := client.To4(); v4 != nil && t.v4.Load() {
			return v4
		}
		return nil
	}
	if client.To4() == nil && t.v6.Load() {
		return client
	}
	return nil
}

// bindTransparent prepares a fresh hub-side socket to send from ip:port (port 0 when that port is
// taken in the hub, e.g. by the same client's session on another published port). An error means
// the caller should use a plain socket instead.
func (t *transparency) bindTransparent(fd, family int, ip net.IP, port int) error {
	level, opt := syscall.SOL_IP, syscall.IP_TRANSPARENT
	if family == syscall.AF_INET6 {
		level, opt = syscall.SOL_IPV6, ipv6Transparent
	}
	err := syscall.SetsockoptInt(fd, level, opt, 1)
	if err == nil {
		err = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_MARK, sockMark)
	}
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOPROTOOPT) {
			t.off.Do(func() {
				t.v4.Store(false)
				t.v6.Store(false)
				log.Printf("transparent relaying is off (containers see the hub's gateway as the source): %v", err)
			})
		}
		return err
	}
	_, sa, err := sockaddr(ip, port)
	if err == nil {
		err = syscall.Bind(fd, sa)
		if errors.Is(err, syscall.EADDRINUSE) && port != 0 {
			_, sa, _ = sockaddr(ip, 0)
			err = syscall.Bind(fd, sa)
		}
	}
	return err
}

// hubSocket makes a non-blocking socket on the hub thread (call it inside hubThread.do), bound to
// `from` transparently when that is given and works, else unbound.
func (t *transparency) hubSocket(family, typ int, from *net.UDPAddr) (int, error) {
	fd, err := syscall.Socket(family, typ|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil || from == nil {
		return fd, err
	}
	if err = t.bindTransparent(fd, family, from.IP, from.Port); err == nil {
		return fd, nil
	}
	logOnce(err.Error(), "transparent bind to %s failed, this relay uses the hub's address: %v", from, err)
	syscall.Close(fd)
	return syscall.Socket(family, typ|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
}

var logged sync.Map

// logOnce logs the first occurrence of each kind of failure, not one line per connection.
func logOnce(kind, format string, args ...any) {
	if _, seen := logged.LoadOrStore(kind, true); !seen {
		log.Printf(format, args...)
	}
}
