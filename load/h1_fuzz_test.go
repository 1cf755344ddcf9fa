package load

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// fakeConn answers every read from a fixed response and swallows writes.
type fakeConn struct {
	net.Conn
	r *bytes.Reader
}

func (c *fakeConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *fakeConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzH1Response feeds arbitrary bytes to the own client's response parser: it must return (an
// error or a response), never panic or loop, and keep at most maxBodyKept bytes.
func FuzzH1Response(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nok\r\n0\r\nTrailer: 1\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 302 Found\r\nLocation: /x\r\nSet-Cookie: a=b\r\n\r\nbody until close"))
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := &h1client{conns: map[string]*h1conn{}}
		c := &h1conn{c: &fakeConn{r: bytes.NewReader(data)}}
		c.br = bufio.NewReaderSize(c.c, 4<<10)
		var body bytes.Buffer
		res := &h1result{header: map[string][]string{}}
		_, _, _ = h.roundTrip(context.Background(), c, "GET", true, &body, res)
		if body.Len() > maxBodyKept {
			t.Fatalf("kept %d body bytes", body.Len())
		}
	})
}
