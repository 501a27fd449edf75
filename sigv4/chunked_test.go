package sigv4

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// docAuth is the signing context of the chunked-upload examples in the
// Amazon S3 API Reference, seeded with seed.
func docAuth(t testing.TB, claimed, seed string) *streamAuth {
	t.Helper()
	st := &streamAuth{}
	var sig [32]byte
	if !decodeHex(sig[:], seed) {
		t.Fatalf("bad seed %q", seed)
	}
	st.set(claimed, deriveKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20130524", "us-east-1", "s3"), sig,
		"20130524T000000Z", "20130524", "us-east-1", "s3")
	return st
}

// TestChunkedDocumentedTrailer decodes the body of "Signature calculations
// for trailing headers (chunked uploads)" in the Amazon S3 API Reference,
// from its seed signature: 64 KiB and 1 KiB of 'a' and a CRC32C trailer.
func TestChunkedDocumentedTrailer(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, c := range []struct {
		size int
		sig  string
	}{
		{0x10000, "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2"},
		{0x400, "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7"},
	} {
		fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n%s\r\n", c.size, c.sig, strings.Repeat("a", c.size))
	}
	b.WriteString("0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n")
	b.WriteString("x-amz-checksum-crc32c:sOO8/Q==\r\n")
	b.WriteString("x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n")
	body := b.String()
	decode := func(body string) ([]byte, *chunkDecoder, error) {
		st := docAuth(t, streamingSignedTrailer, "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e")
		d := newChunkDecoder(strings.NewReader(body), 66560, st, []string{"x-amz-checksum-crc32c"})
		got, err := io.ReadAll(d)
		return got, d, err
	}
	got, d, err := decode(body)
	if err != nil || string(got) != strings.Repeat("a", 66560) {
		t.Fatalf("decoded %d bytes, %v", len(got), err)
	}
	if d.trailer["x-amz-checksum-crc32c"] != "sOO8/Q==" || len(d.trailer) != 1 {
		t.Errorf("trailer %v", d.trailer)
	}
	// The same with the blank line some readers of the example expect
	// after the final chunk.
	if got, _, err := decode(strings.Replace(body, "f992\r\n", "f992\r\n\r\n", 1)); err != nil || len(got) != 66560 {
		t.Errorf("with blank line: %d bytes, %v", len(got), err)
	}
	_, _, err = decode(strings.Replace(body, "sOO8/Q==", "sOO8/R==", 1))
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeChunkSignature {
		t.Errorf("tampered trailer: %v", err)
	}
}

// chunkedSeeds are aws-chunked bodies of each form, valid for the
// signatures docAuth derives.
func chunkedSeeds(t testing.TB) map[string][]string {
	t.Helper()
	sign := func(claimed string, chunks []string, trailer string) string {
		st := docAuth(t, claimed, strings.Repeat("ab", 32))
		d := newChunkDecoder(nil, -1, st, nil)
		var b strings.Builder
		for _, c := range append(chunks, "") {
			var sum [32]byte
			d.h.Reset()
			d.h.Write([]byte(c))
			d.prev = d.chunkSignature(d.h.Sum(sum[:0]))
			fmt.Fprintf(&b, "%x;chunk-signature=%s\r\n", len(c), hex.EncodeToString(d.prev[:]))
			if c != "" {
				b.WriteString(c + "\r\n")
			}
		}
		if trailer == "" {
			return b.String() + "\r\n"
		}
		name, value, _ := strings.Cut(trailer, ":")
		d.trailer = map[string]string{name: value}
		sig := d.trailerSignature()
		return b.String() + trailer + "\r\nx-amz-trailer-signature:" + hex.EncodeToString(sig[:]) + "\r\n\r\n"
	}
	return map[string][]string{
		streamingUnsignedTrailer: {
			"0\r\n\r\n",
			"3\r\nabc\r\n0\r\n\r\n",
			"3\r\nabc\r\n2\r\nde\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n",
			"A\r\n0123456789\r\n0\r\n\r\nx-amz-checksum-crc32:NSRBwg==\n",
		},
		streamingSigned: {
			sign(streamingSigned, nil, ""),
			sign(streamingSigned, []string{"abc", "defgh"}, ""),
		},
		streamingSignedTrailer: {
			sign(streamingSignedTrailer, []string{"abc"}, "x-amz-checksum-crc32:NSRBwg=="),
		},
	}
}

func TestChunkedSeedsDecode(t *testing.T) {
	t.Parallel()
	for claimed, bodies := range chunkedSeeds(t) {
		for _, body := range bodies {
			d := newChunkDecoder(strings.NewReader(body), -1, docAuth(t, claimed, strings.Repeat("ab", 32)), nil)
			if _, err := io.ReadAll(d); err != nil {
				t.Errorf("%s %q: %v", claimed, body, err)
			}
		}
	}
}

// FuzzChunked feeds arbitrary bodies to the decoder of each aws-chunked
// form. It must never panic, never return more content than the body
// holds, end only in io.EOF or an *Error, and keep returning that end.
func FuzzChunked(f *testing.F) {
	forms := []string{streamingUnsignedTrailer, streamingSigned, streamingSignedTrailer}
	for claimed, bodies := range chunkedSeeds(f) {
		for _, body := range bodies {
			for i, form := range forms {
				if form == claimed {
					f.Add([]byte(body), uint8(i), uint8(7), int16(-1))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, form, step uint8, size int16) {
		claimed := forms[int(form)%len(forms)]
		d := newChunkDecoder(bytes.NewReader(body), int64(size), docAuth(t, claimed, strings.Repeat("ab", 32)),
			[]string{"x-amz-checksum-crc32"}[:int(form)%2])
		buf := make([]byte, int(step)%64+1)
		total := 0
		for range len(body) + 10 {
			n, err := d.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Read returned %d for %d bytes", n, len(buf))
			}
			total += n
			if total > len(body) {
				t.Fatalf("%d content bytes from a %d-byte body", total, len(body))
			}
			if err == nil {
				continue
			}
			var e *Error
			if err != io.EOF && !errors.As(err, &e) {
				t.Fatalf("Read ended with %T %v", err, err)
			}
			if err == io.EOF && size >= 0 && total != int(size) {
				t.Fatalf("EOF after %d bytes, declared %d", total, size)
			}
			if n, again := d.Read(buf); n != 0 || (err == io.EOF) != (again == io.EOF) {
				t.Fatalf("Read after %v: %d, %v", err, n, again)
			}
			return
		}
		t.Fatalf("no end after %d reads of a %d-byte body", len(body)+10, len(body))
	})
}
