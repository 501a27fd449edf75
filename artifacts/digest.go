package artifacts

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
)

// The checksum algorithms of S3's x-amz-checksum-* headers.
const (
	CRC32     = "CRC32"
	CRC32C    = "CRC32C"
	CRC64NVME = "CRC64NVME"
	SHA1      = "SHA1"
	SHA256    = "SHA256"
)

// The checksum types of a multipart object.
const (
	FullObject = "FULL_OBJECT"
	Composite  = "COMPOSITE"
)

// DigestError reports that a body's Content-MD5 or x-amz-checksum-* did not
// match its content; nothing was stored. S3 answers it with BadDigest
// (or XAmzContentChecksumMismatch for a checksum).
type DigestError struct {
	// Algorithm is "MD5", "CRC32", "CRC32C", "CRC64NVME", "SHA1" or "SHA256".
	Algorithm string
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("artifacts: the %s of the body does not match the one sent", e.Algorithm)
}

// SizeError reports a body shorter or longer than announced; nothing was
// stored. Got is at most Want+1 for a longer body (reading stops there).
type SizeError struct{ Want, Got int64 }

func (e *SizeError) Error() string {
	return fmt.Sprintf("artifacts: the body has %d bytes, %d were announced", e.Got, e.Want)
}

var (
	crc32cTable    = crc32.MakeTable(crc32.Castagnoli)
	crc64nvmeTable = crc64.MakeTable(0x9a6c9329ac4bc9b5) // reflected 0xad93d23594c93659
)

// newChecksum returns a new hash for one of the checksum algorithms.
func newChecksum(alg string) (hash.Hash, error) {
	switch alg {
	case CRC32:
		return crc32.NewIEEE(), nil
	case CRC32C:
		return crc32.New(crc32cTable), nil
	case CRC64NVME:
		return crc64.New(crc64nvmeTable), nil
	case SHA1:
		return sha1.New(), nil
	case SHA256:
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("%w: unknown checksum algorithm %q", ErrInvalidArgument, alg)
}

// isCRC reports whether alg can form a FULL_OBJECT checksum of a multipart
// object.
func isCRC(alg string) bool { return alg == CRC32 || alg == CRC32C || alg == CRC64NVME }

// digester computes, as content is written through it, the content's MD5,
// optionally its SHA-256, and the checksums of a set of algorithms.
type digester struct {
	md5    hash.Hash
	sha256 hash.Hash // nil when not wanted
	sums   map[string]hash.Hash
	n      int64
}

// newDigester returns a digester computing the SHA-256 when withSHA256 and
// the checksums of algs ("" entries are ignored).
func newDigester(withSHA256 bool, algs ...string) (*digester, error) {
	d := &digester{md5: md5.New(), sums: map[string]hash.Hash{}}
	if withSHA256 {
		d.sha256 = sha256.New()
	}
	for _, alg := range algs {
		if alg == "" || d.sums[alg] != nil {
			continue
		}
		h, err := newChecksum(alg)
		if err != nil {
			return nil, err
		}
		d.sums[alg] = h
	}
	return d, nil
}

// stages returns the digester's work as pipeCopy stages that can run at
// the same time: the MD5, and the other digests.
func (d *digester) stages() []func([]byte) error {
	out := []func([]byte) error{func(p []byte) error { d.md5.Write(p); return nil }}
	if d.sha256 != nil || len(d.sums) > 0 {
		out = append(out, func(p []byte) error {
			if d.sha256 != nil {
				d.sha256.Write(p)
			}
			for _, h := range d.sums {
				h.Write(p)
			}
			return nil
		})
	}
	return out
}

// copyFrom feeds r through the digester, its digests computed in parallel.
func (d *digester) copyFrom(r io.Reader, limit int64) error {
	n, err := pipeCopy(r, limit, d.stages()...)
	d.n += n
	return err
}

func (d *digester) Write(p []byte) (int, error) {
	d.md5.Write(p)
	if d.sha256 != nil {
		d.sha256.Write(p)
	}
	for _, h := range d.sums {
		h.Write(p)
	}
	d.n += int64(len(p))
	return len(p), nil
}

// md5Hex is the hex MD5 of what was written.
func (d *digester) md5Hex() string { return hex.EncodeToString(d.md5.Sum(nil)) }

// md5Base64 is the base64 MD5 of what was written, as Content-MD5 holds it.
func (d *digester) md5Base64() string { return base64.StdEncoding.EncodeToString(d.md5.Sum(nil)) }

// sha256Hex is the hex SHA-256 of what was written, or "".
func (d *digester) sha256Hex() string {
	if d.sha256 == nil {
		return ""
	}
	return hex.EncodeToString(d.sha256.Sum(nil))
}

// checksum is the base64 checksum of alg of what was written, or "".
func (d *digester) checksum(alg string) string {
	h := d.sums[alg]
	if h == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// verify checks what was written against the Content-MD5 and checksum the
// client sent (either may be "").
func (d *digester) verify(contentMD5, alg, sent string) error {
	if contentMD5 != "" && contentMD5 != d.md5Base64() {
		return &DigestError{Algorithm: "MD5"}
	}
	if sent != "" && sent != d.checksum(alg) {
		return &DigestError{Algorithm: alg}
	}
	return nil
}
