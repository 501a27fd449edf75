package sigv4_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// BenchmarkPayload reads 8 MiB through VerifyStream's Payload in each body
// form, with io.Copy's 32 KiB reads, as the store would.
func BenchmarkPayload(b *testing.B) {
	data := content(8 << 20)
	for _, c := range []struct {
		name    string
		request func(b *testing.B) *http.Request
	}{
		{"unsigned", func(b *testing.B) *http.Request {
			r, _ := s3Request(b, "UNSIGNED-PAYLOAD", data, -1)
			return r
		}},
		{"hex sha256", func(b *testing.B) *http.Request {
			r, _ := s3Request(b, hexSHA(data), data, -1)
			return r
		}},
		{"unsigned trailer 64KiB chunks", func(b *testing.B) *http.Request {
			return chunkedRequest(b, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
				func([]byte) []byte { return encodeChunked(b, data, 64<<10, nil, trailerCRC+":AAAAAA==") })
		}},
		{"signed 64KiB chunks", func(b *testing.B) *http.Request {
			return chunkedRequest(b, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil,
				func(seed []byte) []byte { return encodeChunked(b, data, 64<<10, newChunkSigner(seed)) })
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := c.request(b)
			body, err := io.ReadAll(r.Body)
			if err != nil {
				b.Fatal(err)
			}
			v := newVerifier(signTime)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r.Body = io.NopCloser(bytes.NewReader(body))
				_, p, err := v.VerifyStream(r, "s3")
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, onlyReader{p}); err != nil || n != int64(len(data)) {
					b.Fatalf("copied %d, %v", n, err)
				}
			}
		})
	}
}

// onlyReader hides any WriterTo, so io.Copy reads as a store does.
type onlyReader struct{ io.Reader }
