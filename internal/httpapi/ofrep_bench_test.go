package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// OFREP's hot path, POST /ofrep/v1/evaluate/flags/rules-flag with rotating contexts (the rules flag and
// the foundation benchmark's 1,000 users):
//
//   - BenchmarkOFREPEvaluate drives the handler in process (routing, the cached key, reading and decoding the
//     body, evaluating, encoding) with a reused request and response writer, so ns/op and allocs/op are the
//     server's own;
//   - BenchmarkOFREPEvaluateLoopback adds net/http's client and server over loopback (parallel).
//
// docs/delivery.md has the figures and the wrk measurement.

func dvBodies() [][]byte {
	countries := []string{"BR", "PT", "US", "FR", "DE"}
	out := make([][]byte, 1000)
	for i := range out {
		domain := "mail.test"
		if i%4 == 0 {
			domain = "example.com"
		}
		out[i] = fmt.Appendf(nil, `{"context":{"targetingKey":"user-%d","email":"user-%d@%s","country":"%s"}}`, i, i, domain, countries[i%5])
	}
	return out
}

// dvWriter is a reusable http.ResponseWriter that keeps nothing.
type dvWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *dvWriter) Header() http.Header         { return w.h }
func (w *dvWriter) WriteHeader(code int)        { w.status = code }
func (w *dvWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

type dvBody struct{ bytes.Reader }

func (*dvBody) Close() error { return nil }

func BenchmarkOFREPEvaluate(b *testing.B) {
	e := newDV(b, dvOption{})
	bodies := dvBodies()
	req := httptest.NewRequest("POST", "/ofrep/v1/evaluate/flags/rules-flag", nil)
	req.Header.Set("Authorization", "Bearer "+e.server)
	body := &dvBody{}
	w := &dvWriter{h: http.Header{}}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		body.Reset(bodies[i%len(bodies)])
		req.Body = body
		req.ContentLength = int64(body.Len())
		w.status = 0
		clear(w.h)
		e.srv.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
		i++
	}
}

func BenchmarkOFREPEvaluateLoopback(b *testing.B) {
	e := newDV(b, dvOption{})
	bodies := dvBodies()
	client := e.ts.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest("POST", e.ts.URL+"/ofrep/v1/evaluate/flags/rules-flag", bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Authorization", "Bearer "+e.server)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("status %d", res.StatusCode)
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
