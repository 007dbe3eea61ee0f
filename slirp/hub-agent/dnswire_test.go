package main

import (
	"bytes"
	"testing"
)

// query builds a one-question query for name and qtype with RD set.
func query(name string, qtype uint16) []byte {
	msg := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, label := range bytes.Split([]byte(name), []byte(".")) {
		msg = append(append(msg, byte(len(label))), label...)
	}
	return append(msg, 0, byte(qtype>>8), byte(qtype), 0, 1)
}

func TestAnswers(t *testing.T) {
	msg := query("Web.Example", typeAAAA)
	q := parseQuestion(msg)
	if q == nil || q.name != "web.example" || q.qtype != typeAAAA || !q.recursionDesired || q.end != len(msg) {
		t.Fatalf("parsed %+v", q)
	}
	out := buildAnswer(msg, q, []string{"fd00::2", "10.0.0.2"}, 0)
	header := []byte{0x12, 0x34, 0x85, 0x80, 0, 1, 0, 2, 0, 0, 0, 0}
	if !bytes.Equal(out[:12], header) || !bytes.Equal(out[12:q.end], msg[12:]) {
		t.Fatalf("header/question % x", out[:q.end])
	}
	aaaa := append([]byte{0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 2, 0x58, 0, 16, 0xfd}, make([]byte, 14)...)
	aaaa = append(aaaa, 2)
	a := []byte{0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4, 10, 0, 0, 2}
	if !bytes.Equal(out[q.end:], append(aaaa, a...)) {
		t.Fatalf("answers % x", out[q.end:])
	}
	if nx := buildAnswer(msg, q, nil, rcodeNXDomain); nx[3] != 0x83 || nx[7] != 0 {
		t.Fatalf("nxdomain % x", nx[:12])
	}
}

func TestRejectsGarbage(t *testing.T) {
	reply := query("a", typeA)
	reply[2] |= 0x80
	for _, msg := range [][]byte{nil, make([]byte, 11), reply, query("a", typeA)[:14]} {
		if q := parseQuestion(msg); q != nil {
			t.Fatalf("parsed % x as %+v", msg, q)
		}
	}
}
