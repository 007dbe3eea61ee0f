package main

import (
	"encoding/binary"
	"net"
	"strings"
)

// Just enough of RFC 1035 to answer A and AAAA questions for container names and pass the rest on.

const (
	typeA         = 1
	typeAAAA      = 28
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeRefused  = 5
	// dockerd's embedded resolver answers with a TTL of 600 seconds.
	answerTTL = 600
)

type question struct {
	id    uint16
	name  string // lower-cased, without the trailing dot
	qtype uint16
	// end is the offset just past the question, so an answer can echo it.
	end              int
	recursionDesired bool
}

// parseQuestion reads the one question of a query; nil for replies, several questions or garbage.
func parseQuestion(msg []byte) *question {
	if len(msg) < 12 {
		return nil
	}
	flags := binary.BigEndian.Uint16(msg[2:])
	if flags&0x8000 != 0 || binary.BigEndian.Uint16(msg[4:]) != 1 {
		return nil
	}
	var labels []string
	off := 12
	for {
		if off >= len(msg) {
			return nil
		}
		n := int(msg[off])
		off++
		if n == 0 {
			break
		}
		if n > 63 || off+n > len(msg) {
			return nil
		}
		labels = append(labels, string(msg[off:off+n]))
		off += n
	}
	if off+4 > len(msg) {
		return nil
	}
	return &question{
		id:               binary.BigEndian.Uint16(msg),
		name:             strings.ToLower(strings.Join(labels, ".")),
		qtype:            binary.BigEndian.Uint16(msg[off:]),
		end:              off + 4,
		recursionDesired: flags&0x0100 != 0,
	}
}

// buildAnswer is the reply to msg echoing its question, with an A or AAAA record per address.
func buildAnswer(msg []byte, q *question, ips []string, rcode int) []byte {
	out := make([]byte, 12, 12+q.end+len(ips)*28)
	binary.BigEndian.PutUint16(out[0:], q.id)
	// QR, opcode 0, AA, RD copied, RA.
	flags := uint16(0x8000 | 0x0400 | 0x0080 | rcode&0xf)
	if q.recursionDesired {
		flags |= 0x0100
	}
	binary.BigEndian.PutUint16(out[2:], flags)
	binary.BigEndian.PutUint16(out[4:], 1)
	out = append(out, msg[12:q.end]...)
	count := 0
	for _, s := range ips {
		ip := net.ParseIP(s)
		if ip == nil {
			continue
		}
		rtype, addr := uint16(typeA), ip.To4()
		if strings.Contains(s, ":") || addr == nil {
			rtype, addr = typeAAAA, ip.To16()
		}
		rr := make([]byte, 12, 12+len(addr))
		binary.BigEndian.PutUint16(rr[0:], 0xc00c) // the name: a pointer to the question's
		binary.BigEndian.PutUint16(rr[2:], rtype)
		binary.BigEndian.PutUint16(rr[4:], 1)
		binary.BigEndian.PutUint32(rr[6:], answerTTL)
		binary.BigEndian.PutUint16(rr[10:], uint16(len(addr)))
		out = append(append(out, rr...), addr...)
		count++
	}
	binary.BigEndian.PutUint16(out[6:], uint16(count))
	return out
}
