package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// sockaddr is the kernel form of ip:port, with the address family it needs.
func sockaddr(ip net.IP, port int) (int, syscall.Sockaddr, error) {
	if v4 := ip.To4(); v4 != nil {
		sa := &syscall.SockaddrInet4{Port: port}
		copy(sa.Addr[:], v4)
		return syscall.AF_INET, sa, nil
	}
	if v6 := ip.To16(); v6 != nil {
		sa := &syscall.SockaddrInet6{Port: port}
		copy(sa.Addr[:], v6)
		return syscall.AF_INET6, sa, nil
	}
	return 0, nil, fmt.Errorf("bad address %q", ip)
}

// dialTCP connects to a container from the hub netns, from the client's address `from` where
// transparency allows (see transparent.go). Only socket(), bind() and the non-blocking connect()
// run on the hub thread; the wait for the handshake parks this goroutine alone, so a container
// that never answers holds up nobody else.
func (h *hubThread) dialTCP(ip net.IP, port int, from *net.TCPAddr) (*net.TCPConn, error) {
	family, sa, err := sockaddr(ip, port)
	if err != nil {
		return nil, err
	}
	var src *net.UDPAddr
	if from != nil {
		src = h.tp.sourceAddr(from.IP, from.Port, ip)
	}
	fd := -1
	h.do(func() {
		fd, err = h.tp.hubSocket(family, syscall.SOCK_STREAM, src)
		if err == nil {
			err = syscall.Connect(fd, sa)
		}
	})
	if err != nil && !errors.Is(err, syscall.EINPROGRESS) {
		if fd >= 0 {
			syscall.Close(fd)
		}
		return nil, os.NewSyscallError("connect", err)
	}
	// A non-blocking fd joins the runtime's poller, so waiting for writability parks the goroutine.
	f := os.NewFile(uintptr(fd), "hub-tcp")
	defer f.Close()
	raw, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var connErr error
	err = raw.Write(func(fd uintptr) bool {
		n, e := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		if e != nil {
			connErr = e
			return true
		}
		switch errno := syscall.Errno(n); errno {
		case 0:
			// Writable without an error, or not yet: only a peer address says connected.
			_, e = syscall.Getpeername(int(fd))
			return e == nil
		case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
			return false
		default:
			connErr = errno
			return true
		}
	})
	if err == nil {
		err = connErr
	}
	if err != nil {
		return nil, os.NewSyscallError("connect", err)
	}
	// FileConn dups the descriptor; the deferred Close drops the original.
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// dialUDP opens a hub-side UDP socket connected to addr (a UDP connect is immediate), sending
// from the client's address `from` (nil: the hub's own) where transparency allows.
func (h *hubThread) dialUDP(addr, from *net.UDPAddr) (*net.UDPConn, error) {
	family, sa, err := sockaddr(addr.IP, addr.Port)
	if err != nil {
		return nil, err
	}
	var src *net.UDPAddr
	if from != nil {
		src = h.tp.sourceAddr(from.IP, from.Port, addr.IP)
	}
	fd := -1
	h.do(func() {
		fd, err = h.tp.hubSocket(family, syscall.SOCK_DGRAM, src)
		if err == nil {
			err = syscall.Connect(fd, sa)
		}
	})
	if err != nil {
		if fd >= 0 {
			syscall.Close(fd)
		}
		return nil, os.NewSyscallError("connect", err)
	}
	f := os.NewFile(uintptr(fd), "hub-udp")
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// listenDNS binds the DNS server of one network to its gateway address inside the hub.
func (h *hubThread) listenDNS(ip net.IP) (udp *net.UDPConn, tcp *net.TCPListener, err error) {
	h.do(func() {
		udp, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: 53})
		if err != nil {
			return
		}
		tcp, err = net.ListenTCP("tcp", &net.TCPAddr{IP: ip, Port: 53})
		if err != nil {
			udp.Close()
		}
	})
	return
}
