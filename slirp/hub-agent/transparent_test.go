package main

import (
	"net"
	"testing"
)

func TestTransparentSource(t *testing.T) {
	tp := parseTransparency([]string{"--transparent=4"})
	v4 := net.ParseIP("172.17.0.2")
	v6 := net.ParseIP("fd00::2")
	cases := []struct {
		client, target net.IP
		want           string
	}{
		{net.ParseIP("192.0.2.7"), v4, "192.0.2.7"},
		{net.ParseIP("::ffff:192.0.2.7"), v4, "192.0.2.7"}, // an IPv4 client of a dual-stack listener
		{net.ParseIP("127.0.0.1"), v4, "<nil>"},            // loopback: the gateway, as dockerd's proxy
		{net.ParseIP("::1"), v4, "<nil>"},
		{net.ParseIP("2001:db8::7"), v4, "<nil>"}, // no IPv4 source for an IPv6 client
		{net.ParseIP("2001:db8::7"), v6, "<nil>"}, // IPv6 not routed back in this hub
		{net.ParseIP("169.254.1.1"), v4, "<nil>"},
	}
	for _, c := range cases {
		if got := tp.source(c.client, c.target).String(); got != c.want {
			t.Errorf("source(%s, %s) = %s, want %s", c.client, c.target, got, c.want)
		}
	}
	tp6 := parseTransparency([]string{"--transparent=46"})
	if got := tp6.source(net.ParseIP("2001:db8::7"), v6).String(); got != "2001:db8::7" {
		t.Errorf("IPv6 source = %s", got)
	}
	if got := tp6.source(net.ParseIP("fe80::1"), v6); got != nil {
		t.Errorf("link-local source = %s", got)
	}
	var off *transparency
	if got := off.source(net.ParseIP("192.0.2.7"), v4); got != nil {
		t.Errorf("no transparency, source = %s", got)
	}
	if got := parseTransparency(nil).source(net.ParseIP("192.0.2.7"), v4); got != nil {
		t.Errorf("without the flag, source = %s", got)
	}
}
