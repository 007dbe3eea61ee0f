package main

import (
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"time"
)

// udpIdle is how long a UDP client's session (its hub-side socket) outlives its last datagram.
const udpIdle = 60 * time.Second

// port is one published port: bound in the host netns at the daemon's request, relaying to its
// container once forwarded. Until then the kernel queues what arrives (the listen backlog, the
// socket's receive buffer).
type port interface {
	forward(hub *hubThread, target *net.TCPAddr)
	close()
}

// tcpPort accepts on the host side and splices each connection to the container.
type tcpPort struct {
	ln    *net.TCPListener
	mu    sync.Mutex
	conns map[*net.TCPConn]struct{}
}

func (p *tcpPort) track(c *net.TCPConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false // closed
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpPort) untrack(cs ...*net.TCPConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
		c.Close()
	}
}

func (p *tcpPort) forward(hub *hubThread, target *net.TCPAddr) {
	go func() {
		var backoff time.Duration
		for {
			c, err := p.ln.AcceptTCP()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				// EMFILE and the like: wait a little instead of spinning.
				if backoff *= 2; backoff < 5*time.Millisecond {
					backoff = 5 * time.Millisecond
				} else if backoff > time.Second {
					backoff = time.Second
				}
				log.Printf("accept on %s: %v", p.ln.Addr(), err)
				time.Sleep(backoff)
				continue
			}
			backoff = 0
			go p.relay(hub, c, target)
		}
	}()
}

// relay copies both ways. A client's half-close reaches the container while its reply still
// flows back (`nc` sinks, HTTP/1.0 uploads), so an EOF only shuts the other side's write half;
// an error on either leg drops both.
func (p *tcpPort) relay(hub *hubThread, client *net.TCPConn, target *net.TCPAddr) {
	if !p.track(client) {
		client.Close()
		return
	}
	up, err := hub.dialTCP(target.IP, target.Port, client.RemoteAddr().(*net.TCPAddr))
	if err != nil || !p.track(up) {
		if up != nil {
			up.Close()
		}
		p.untrack(client)
		return
	}
	abort := func() {
		client.Close()
		up.Close()
	}
	done := make(chan struct{})
	go func() {
		// TCPConn.ReadFrom splices between the two sockets without copying through user space.
		if _, err := io.Copy(up, client); err != nil {
			abort()
		} else {
			up.CloseWrite()
		}
		close(done)
	}()
	if _, err := io.Copy(client, up); err != nil {
		abort()
	} else {
		client.CloseWrite()
	}
	<-done
	p.untrack(client, up)
}

func (p *tcpPort) close() {
	p.ln.Close()
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// udpPort keeps one hub-side socket per client address, so replies find their way back.
type udpPort struct {
	host     *net.UDPConn
	mu       sync.Mutex
	sessions map[string]*udpSession
}

type udpSession struct {
	conn *net.UDPConn
	last time.Time // guarded by udpPort.mu
}

func (p *udpPort) forward(hub *hubThread, target *net.TCPAddr) {
	to := &net.UDPAddr{IP: target.IP, Port: target.Port}
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := p.host.ReadFromUDP(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			s := p.session(hub, from, to)
			if s != nil {
				s.conn.Write(buf[:n])
			}
		}
	}()
}

func (p *udpPort) session(hub *hubThread, from, to *net.UDPAddr) *udpSession {
	key := from.String()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sessions == nil {
		return nil // closed
	}
	if s := p.sessions[key]; s != nil {
		s.last = time.Now()
		return s
	}
	conn, err := hub.dialUDP(to, from)
	if err != nil {
		log.Printf("udp session to %s: %v", to, err)
		return nil
	}
	s := &udpSession{conn: conn, last: time.Now()}
	p.sessions[key] = s
	go p.back(key, s, from)
	return s
}

// back relays the container's replies to the client until the session idles out.
func (p *udpPort) back(key string, s *udpSession, client *net.UDPAddr) {
	buf := make([]byte, 65535)
	for {
		p.mu.Lock()
		deadline := s.last.Add(udpIdle)
		p.mu.Unlock()
		s.conn.SetReadDeadline(deadline)
		n, err := s.conn.Read(buf)
		if err == nil {
			p.mu.Lock()
			s.last = time.Now()
			p.mu.Unlock()
			p.host.WriteToUDP(buf[:n], client)
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			p.mu.Lock()
			idle := time.Since(s.last) >= udpIdle
			if idle && p.sessions != nil {
				delete(p.sessions, key)
			}
			p.mu.Unlock()
			if idle {
				s.conn.Close()
				return
			}
		}
		// Anything else (ECONNREFUSED after an ICMP unreachable) is this datagram's problem only.
	}
}

func (p *udpPort) close() {
	p.host.Close()
	p.mu.Lock()
	sessions := p.sessions
	p.sessions = nil
	p.mu.Unlock()
	for _, s := range sessions {
		s.conn.Close()
	}
}
