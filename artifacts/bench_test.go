package artifacts_test

import (
	"io"
	"testing"

	"github.com/pipewright/pipewright/artifacts"
)

// zeros yields n zero bytes.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// BenchmarkPutObject100MB is the cost of storing a 100 MB body with the
// default digests (MD5, SHA-256, CRC64NVME) and its fsync.
func BenchmarkPutObject100MB(b *testing.B) {
	s := newStore(b, "bucket")
	b.SetBytes(100 << 20)
	for b.Loop() {
		if _, err := s.PutObject(ctx, "bucket", "big", &zeros{100 << 20}, artifacts.PutOptions{Size: 100 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}
