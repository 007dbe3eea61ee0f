package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// dnsNetwork is one user network's table, as the daemon sends it (see slirp/agent-protocol.ts).
type dnsNetwork struct {
	Address  string              `json:"address"`
	Records  map[string][]string `json:"records"`
	Records6 map[string][]string `json:"records6"`
	Forward  bool                `json:"forward"`
	// Links: per asking address, the aliases its endpoint's links add.
	Links map[string]map[string][]string `json:"links"`
}

const (
	upstreamTimeout = 3 * time.Second
	// tcpIdle closes a DNS-over-TCP connection that asks nothing more (RFC 7766 6.2.3).
	tcpIdle = 30 * time.Second
)

// dnsServer answers on one bridge gateway, port 53, UDP and TCP.
type dnsServer struct {
	udp   *net.UDPConn
	tcp   *net.TCPListener
	table atomic.Value // *dnsNetwork
}

type dnsService struct {
	hub       *hubThread
	mu        sync.Mutex
	servers   map[string]*dnsServer
	upstreams atomic.Value // []string
}

func newDNSService(hub *hubThread) *dnsService {
	d := &dnsService{hub: hub, servers: map[string]*dnsServer{}}
	d.upstreams.Store([]string(nil))
	return d
}

// set replaces the tables: servers of networks no longer listed stop, new ones start.
func (d *dnsService) set(networks []dnsNetwork, upstreams []string) error {
	d.upstreams.Store(upstreams)
	d.mu.Lock()
	defer d.mu.Unlock()
	wanted := map[string]bool{}
	for _, n := range networks {
		wanted[n.Address] = true
	}
	for addr, s := range d.servers {
		if !wanted[addr] {
			s.udp.Close()
			s.tcp.Close()
			delete(d.servers, addr)
		}
	}
	for i := range networks {
		n := &networks[i]
		if s := d.servers[n.Address]; s != nil {
			s.table.Store(n)
			continue
		}
		ip := net.ParseIP(n.Address)
		if ip == nil {
			return fmt.Errorf("bad DNS address %q", n.Address)
		}
		udp, tcp, err := d.hub.listenDNS(ip)
		if err != nil {
			return err
		}
		s := &dnsServer{udp: udp, tcp: tcp}
		s.table.Store(n)
		d.servers[n.Address] = s
		go d.serveUDP(s)
		go d.serveTCP(s)
	}
	return nil
}

func (d *dnsService) serveUDP(s *dnsServer) {
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFromUDP(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		msg := append([]byte(nil), buf[:n]...)
		go func() {
			if out := d.answer(s.table.Load().(*dnsNetwork), msg, from.IP); out != nil {
				s.udp.WriteToUDP(out, from)
			}
		}()
	}
}

func (d *dnsService) serveTCP(s *dnsServer) {
	for {
		c, err := s.tcp.AcceptTCP()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go d.serveConn(s, c)
	}
}

// serveConn answers length-prefixed queries (RFC 1035 4.2.2) in order until the client closes.
func (d *dnsService) serveConn(s *dnsServer, c *net.TCPConn) {
	defer c.Close()
	client := c.RemoteAddr().(*net.TCPAddr).IP
	var size [2]byte
	for {
		c.SetReadDeadline(time.Now().Add(tcpIdle))
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		out := d.answer(s.table.Load().(*dnsNetwork), msg, client)
		if out == nil {
			continue
		}
		framed := make([]byte, 2, 2+len(out))
		binary.BigEndian.PutUint16(framed, uint16(len(out)))
		if _, err := c.Write(append(framed, out...)); err != nil {
			return
		}
	}
}

func (d *dnsService) answer(n *dnsNetwork, msg []byte, client net.IP) []byte {
	q := parseQuestion(msg)
	if q == nil {
		return nil
	}
	if v4 := client.To4(); v4 != nil {
		client = v4
	}
	// A link's alias is seen only by the container that made the link, as with dockerd's resolver.
	ips, found := n.Links[client.String()][q.name]
	if !found {
		ips, found = n.Records[q.name]
	}
	if found {
		switch q.qtype {
		case typeA:
		case typeAAAA:
			ips = n.Records6[q.name]
		default:
			ips = nil
		}
		return buildAnswer(msg, q, ips, 0)
	}
	if !n.Forward {
		rcode := rcodeRefused
		if strings.Contains(q.name, ".") {
			rcode = rcodeNXDomain
		}
		return buildAnswer(msg, q, nil, rcode)
	}
	if out := d.ask(msg); out != nil {
		return out
	}
	return buildAnswer(msg, q, nil, rcodeServFail)
}

// ask passes a query to the host's resolvers (through the hub's uplink) and returns their reply unchanged.
func (d *dnsService) ask(msg []byte) []byte {
	upstreams := d.upstreams.Load().([]string)
	if len(upstreams) == 0 {
		return nil
	}
	ip := net.ParseIP(upstreams[0])
	if ip == nil {
		return nil
	}
	c, err := d.hub.dialUDP(&net.UDPAddr{IP: ip, Port: 53}, nil)
	if err != nil {
		return nil
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(upstreamTimeout))
	if _, err := c.Write(msg); err != nil {
		return nil
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil // a timeout, or the resolver's port unreachable: SERVFAIL
	}
	return buf[:n]
}
