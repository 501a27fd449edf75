package sigv4_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/pipewright/pipewright/sigv4"
)

const (
	s3URL      = "http://bucket.localhost:9000/dir/some%20key.bin"
	emptyHash  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	trailerCRC = "x-amz-checksum-crc32"
)

// content returns n bytes of varied content.
func content(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func hexSHA(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// s3Request is a PUT as it reaches the S3 endpoint, with x-amz-content-sha256
// set to payloadHash and the aws-chunked headers when the form needs them,
// signed by aws-sdk-go-v2's signer at signTime. It returns the request's
// signature, the seed of any chunk signatures.
func s3Request(t testing.TB, payloadHash string, body []byte, decodedLen int, trailers ...string) (*http.Request, []byte) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPut, s3URL, bytes.NewReader(body))
	if payloadHash != "" {
		r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	}
	if strings.HasPrefix(payloadHash, "STREAMING-") {
		r.Header.Set("Content-Encoding", "aws-chunked")
		if decodedLen >= 0 {
			r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(decodedLen))
		}
	}
	if len(trailers) > 0 {
		r.Header.Set("X-Amz-Trailer", strings.Join(trailers, ","))
	}
	signed := payloadHash
	if signed == "" {
		signed = hexSHA(body)
	}
	err := v4.NewSigner().SignHTTP(context.Background(), testCreds, r, signed, "s3", testRegion, signTime,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err != nil {
		t.Fatal(err)
	}
	auth := r.Header.Get("Authorization")
	seed, err := hex.DecodeString(auth[strings.Index(auth, "Signature=")+len("Signature="):])
	if err != nil {
		t.Fatal(err)
	}
	return r, seed
}

// chunkSigner signs aws-chunked chunks with aws-sdk-go-v2's StreamSigner
// and trailers with an HMAC written out here, following "Signature
// calculations for trailing headers" in the S3 API Reference.
type chunkSigner struct {
	s    *v4.StreamSigner
	prev []byte
}

func newChunkSigner(seed []byte) *chunkSigner {
	return &chunkSigner{s: v4.NewStreamSigner(testCreds, "s3", testRegion, seed), prev: seed}
}

func (c *chunkSigner) chunk(t testing.TB, data []byte) string {
	t.Helper()
	sig, err := c.s.GetSignature(context.Background(), nil, data, signTime)
	if err != nil {
		t.Fatal(err)
	}
	c.prev = sig
	return hex.EncodeToString(sig)
}

func (c *chunkSigner) trailer(canonical string) string {
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	date := signTime.Format("20060102")
	key := mac([]byte("AWS4"+testSecret), date)
	for _, part := range []string{testRegion, "s3", "aws4_request"} {
		key = mac(key, part)
	}
	sts := "AWS4-HMAC-SHA256-TRAILER\n" + signTime.Format("20060102T150405Z") + "\n" +
		date + "/" + testRegion + "/s3/aws4_request\n" + hex.EncodeToString(c.prev) + "\n" + hexSHA([]byte(canonical))
	return hex.EncodeToString(mac(key, sts))
}

// encodeChunked frames data as aws-chunked in chunks of at most size bytes;
// signer nil leaves chunks unsigned. trailer lines ("name:value") follow the
// final chunk, then, when signed, the trailer signature.
func encodeChunked(t testing.TB, data []byte, size int, signer *chunkSigner, trailer ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	for chunk := range slices.Chunk(data, size) {
		fmt.Fprintf(&b, "%x", len(chunk))
		if signer != nil {
			b.WriteString(";chunk-signature=" + signer.chunk(t, chunk))
		}
		b.WriteString("\r\n")
		b.Write(chunk)
		b.WriteString("\r\n")
	}
	b.WriteString("0")
	if signer != nil {
		b.WriteString(";chunk-signature=" + signer.chunk(t, nil))
	}
	b.WriteString("\r\n")
	var canonical string
	for _, line := range trailer {
		b.WriteString(line + "\r\n")
		canonical += line + "\n"
	}
	if signer != nil && len(trailer) > 0 {
		b.WriteString("x-amz-trailer-signature:" + signer.trailer(canonical) + "\r\n")
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// chunkedRequest is a signed request of form payloadHash whose body is data
// aws-chunked by encode (given the request's signature); edit may change
// the encoded body.
func chunkedRequest(t testing.TB, payloadHash string, data []byte, decodedLen int, trailers []string,
	encode func(seed []byte) []byte) *http.Request {
	t.Helper()
	// The signature does not cover the body, so sign first and attach
	// the body that the signature seeds afterwards.
	r, seed := s3Request(t, payloadHash, nil, decodedLen, trailers...)
	body := encode(seed)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return r
}

// readPayload reads p to its end with reads of step bytes and returns the
// content and the final error (nil for io.EOF).
func readPayload(p *sigv4.Payload, step int) ([]byte, error) {
	var out []byte
	buf := make([]byte, step)
	for {
		n, err := p.Read(buf)
		if n < 0 || n > len(buf) {
			return out, fmt.Errorf("Read returned %d", n)
		}
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestVerifyStreamForms(t *testing.T) {
	t.Parallel()
	data := content(150_000)
	tamper := func(b []byte, at int) []byte {
		b = bytes.Clone(b)
		b[at] ^= 1
		return b
	}
	signed := func(size int, trailer ...string) func(seed []byte) []byte {
		return func(seed []byte) []byte { return encodeChunked(t, data, size, newChunkSigner(seed), trailer...) }
	}
	unsigned := func(size int, trailer ...string) func(seed []byte) []byte {
		return func(seed []byte) []byte { return encodeChunked(t, data, size, nil, trailer...) }
	}
	edit := func(enc func([]byte) []byte, f func([]byte) []byte) func([]byte) []byte {
		return func(seed []byte) []byte { return f(enc(seed)) }
	}
	crc := trailerCRC + ":AAAAAA=="
	for _, c := range []struct {
		name     string
		request  func(t *testing.T) *http.Request
		unsigned bool
		size     int64
		trailer  map[string]string
		code     string // of the error Read ends with; "" for io.EOF
	}{
		{name: "hex sha256", size: int64(len(data)), request: func(t *testing.T) *http.Request {
			r, _ := s3Request(t, hexSHA(data), data, -1)
			return r
		}},
		{name: "hex sha256 upper case", size: int64(len(data)), request: func(t *testing.T) *http.Request {
			r, _ := s3Request(t, strings.ToUpper(hexSHA(data)), data, -1)
			return r
		}},
		{name: "hex sha256 of another body", size: int64(len(data)), code: sigv4.CodeContentSHA256Mismatch,
			request: func(t *testing.T) *http.Request {
				r, _ := s3Request(t, hexSHA(data), tamper(data, 99_999), -1)
				return r
			}},
		{name: "hex sha256 short body", size: int64(len(data)), code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				r, _ := s3Request(t, hexSHA(data), data, -1)
				r.Body = io.NopCloser(bytes.NewReader(data[:1000]))
				return r
			}},
		{name: "hex sha256 empty", size: 0, request: func(t *testing.T) *http.Request {
			r, _ := s3Request(t, emptyHash, nil, -1)
			return r
		}},
		{name: "unsigned payload", unsigned: true, size: int64(len(data)), request: func(t *testing.T) *http.Request {
			r, _ := s3Request(t, "UNSIGNED-PAYLOAD", data, -1)
			return r
		}},
		{name: "signed chunks", size: int64(len(data)), request: func(t *testing.T) *http.Request {
			return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil, signed(64<<10))
		}},
		{name: "signed chunks one byte each", size: 300, request: func(t *testing.T) *http.Request {
			return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data[:300], 300, nil, func(seed []byte) []byte {
				return encodeChunked(t, data[:300], 1, newChunkSigner(seed))
			})
		}},
		{name: "signed chunks without decoded length", size: -1, request: func(t *testing.T) *http.Request {
			return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, -1, nil, signed(8<<10))
		}},
		{name: "signed chunks empty", size: 0, request: func(t *testing.T) *http.Request {
			return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", nil, 0, nil, func(seed []byte) []byte {
				return encodeChunked(t, nil, 1, newChunkSigner(seed))
			})
		}},
		{name: "signed chunks tampered data", size: int64(len(data)), code: sigv4.CodeChunkSignature,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil,
					edit(signed(64<<10), func(b []byte) []byte { return tamper(b, 70_000) }))
			}},
		{name: "signed chunks tampered signature", size: int64(len(data)), code: sigv4.CodeChunkSignature,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil,
					edit(signed(64<<10), func(b []byte) []byte {
						i := bytes.Index(b, []byte("chunk-signature=")) + len("chunk-signature=")
						flipHex(b, i)
						return b
					}))
			}},
		{name: "signed chunks reordered", size: 2 * 10, code: sigv4.CodeChunkSignature,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data[:20], 20, nil, func(seed []byte) []byte {
					s := newChunkSigner(seed)
					a, b := "a;chunk-signature="+s.chunk(t, data[:10]), "a;chunk-signature="+s.chunk(t, data[10:20])
					end := "0;chunk-signature=" + s.chunk(t, nil)
					return []byte(b + "\r\n" + string(data[10:20]) + "\r\n" + a + "\r\n" + string(data[:10]) + "\r\n" + end + "\r\n\r\n")
				})
			}},
		{name: "signed chunks from another request", size: int64(len(data)), code: sigv4.CodeChunkSignature,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil, func([]byte) []byte {
					return encodeChunked(t, data, 64<<10, newChunkSigner(make([]byte, 32)))
				})
			}},
		{name: "signed chunks unsigned", size: int64(len(data)), code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil, unsigned(64<<10))
			}},
		{name: "signed chunks truncated in data", size: int64(len(data)), code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil,
					edit(signed(64<<10), func(b []byte) []byte { return b[:100_000] }))
			}},
		{name: "signed chunks truncated before final chunk", size: int64(len(data)), code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil,
					edit(signed(64<<10), func(b []byte) []byte { return b[:bytes.LastIndex(b, []byte("0;chunk"))] }))
			}},
		{name: "signed chunks without final CRLF", size: int64(len(data)), code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil,
					edit(signed(64<<10), func(b []byte) []byte { return b[:len(b)-2] }))
			}},
		{name: "signed chunks then more data", size: int64(len(data)), code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data), nil,
					edit(signed(64<<10), func(b []byte) []byte { return append(b, "x"...) }))
			}},
		{name: "signed chunks shorter than decoded length", size: int64(len(data)) + 1, code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data)+1, nil, signed(64<<10))
			}},
		{name: "signed chunks longer than decoded length", size: int64(len(data)) - 1, code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", data, len(data)-1, nil, signed(64<<10))
			}},
		{name: "unsigned trailer", unsigned: true, size: int64(len(data)), trailer: map[string]string{trailerCRC: "AAAAAA=="},
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC}, unsigned(64<<10, crc))
			}},
		{name: "unsigned trailer one chunk", unsigned: true, size: int64(len(data)), trailer: map[string]string{trailerCRC: "AAAAAA=="},
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC}, unsigned(len(data), crc))
			}},
		{name: "unsigned trailer, blank line before trailer, no final blank line", unsigned: true, size: 3,
			trailer: map[string]string{trailerCRC: "AAAAAA=="}, request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data[:3], 3, []string{trailerCRC}, func([]byte) []byte {
					return []byte("3\r\n" + string(data[:3]) + "\r\n0\r\n\r\n" + crc + "\n")
				})
			}},
		{name: "unsigned trailer none sent", unsigned: true, size: int64(len(data)),
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), nil, unsigned(64<<10))
			}},
		{name: "unsigned trailer value trimmed, name lower-cased", unsigned: true, size: int64(len(data)),
			trailer: map[string]string{trailerCRC: "AAAAAA=="}, request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
					unsigned(64<<10, "X-Amz-Checksum-CRC32:  AAAAAA== "))
			}},
		{name: "unsigned trailer missing", size: int64(len(data)), unsigned: true, code: sigv4.CodeMalformedTrailer,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC}, unsigned(64<<10))
			}},
		{name: "unsigned trailer not declared", size: int64(len(data)), unsigned: true, code: sigv4.CodeMalformedTrailer,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
					unsigned(64<<10, crc, "x-amz-checksum-sha1:AAAAAA=="))
			}},
		{name: "unsigned trailer repeated", size: int64(len(data)), unsigned: true, code: sigv4.CodeMalformedTrailer,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC}, unsigned(64<<10, crc, crc))
			}},
		{name: "unsigned trailer with a signature", size: int64(len(data)), unsigned: true, code: sigv4.CodeMalformedTrailer,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
					unsigned(64<<10, crc, "x-amz-trailer-signature:"+emptyHash))
			}},
		{name: "unsigned trailer not name:value", size: int64(len(data)), unsigned: true, code: sigv4.CodeMalformedTrailer,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), nil, unsigned(64<<10, "checksum"))
			}},
		{name: "unsigned trailer with chunk signatures", size: int64(len(data)), unsigned: true, code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), nil, signed(64<<10))
			}},
		{name: "unsigned trailer truncated in trailer", size: int64(len(data)), unsigned: true, code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
					edit(unsigned(64<<10, crc), func(b []byte) []byte { return b[:len(b)-5] }))
			}},
		{name: "signed trailer", size: int64(len(data)), trailer: map[string]string{trailerCRC: "AAAAAA=="},
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC}, signed(64<<10, crc))
			}},
		{name: "signed trailer, two trailers", size: int64(len(data)),
			trailer: map[string]string{trailerCRC: "AAAAAA==", "x-amz-checksum-sha1": "BBBB"},
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data, len(data),
					[]string{trailerCRC, "x-amz-checksum-sha1"}, signed(64<<10, crc, "x-amz-checksum-sha1:BBBB"))
			}},
		{name: "signed trailer tampered value", size: int64(len(data)), code: sigv4.CodeChunkSignature,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
					edit(signed(64<<10, crc), func(b []byte) []byte {
						return bytes.Replace(b, []byte("AAAAAA=="), []byte("AAAAAB=="), 1)
					}))
			}},
		{name: "signed trailer tampered signature", size: int64(len(data)), code: sigv4.CodeChunkSignature,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
					edit(signed(64<<10, crc), func(b []byte) []byte {
						i := bytes.Index(b, []byte("x-amz-trailer-signature:")) + len("x-amz-trailer-signature:")
						flipHex(b, i)
						return b
					}))
			}},
		{name: "signed trailer without signature", size: int64(len(data)), code: sigv4.CodeMalformedTrailer,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
					func(seed []byte) []byte {
						b := encodeChunked(t, data, 64<<10, newChunkSigner(seed))
						return append(b[:len(b)-2], crc+"\r\n\r\n"...)
					})
			}},
		{name: "signed trailer, line after signature", size: int64(len(data)), code: sigv4.CodeMalformedTrailer,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data, len(data), nil,
					edit(signed(64<<10, crc), func(b []byte) []byte {
						return append(b[:len(b)-2], "x-amz-meta-a:b\r\n\r\n"...)
					}))
			}},
		{name: "signed trailer, then more data", size: int64(len(data)), code: sigv4.CodeIncompleteBody,
			request: func(t *testing.T) *http.Request {
				return chunkedRequest(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", data, len(data), []string{trailerCRC},
					edit(signed(64<<10, crc), func(b []byte) []byte { return append(b, "\r\n"...) }))
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, step := range []int{1 << 20, 7} {
				r := c.request(t)
				id, p, err := newVerifier(signTime).VerifyStream(r, "s3")
				if err != nil {
					t.Fatalf("VerifyStream: %v", err)
				}
				if id.AccessKeyID != testAKID || id.Service != "s3" || id.UnsignedPayload != c.unsigned {
					t.Errorf("identity %+v", id)
				}
				if p.Size() != c.size {
					t.Errorf("Size() = %d, want %d", p.Size(), c.size)
				}
				if p.Trailer() != nil {
					t.Errorf("Trailer() before EOF = %v", p.Trailer())
				}
				got, err := readPayload(p, step)
				if c.code != "" {
					if e := authError(t, err); e.Code != c.code {
						t.Fatalf("Read ended with %v, want code %s", err, c.code)
					}
					if _, again := p.Read(make([]byte, 10)); again != err {
						t.Errorf("Read after failure: %v, want %v", again, err)
					}
					if p.Trailer() != nil {
						t.Errorf("Trailer() after failure = %v", p.Trailer())
					}
					return
				}
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if c.size >= 0 && int64(len(got)) != c.size || !bytes.Equal(got, data[:len(got)]) {
					t.Errorf("content: %d bytes, want %d of the data", len(got), c.size)
				}
				if tr := p.Trailer(); len(tr) != len(c.trailer) || !mapsEqual(tr, c.trailer) {
					t.Errorf("Trailer() = %v, want %v", tr, c.trailer)
				}
				if n, err := p.Read(make([]byte, 10)); n != 0 || err != io.EOF {
					t.Errorf("Read after EOF: %d, %v", n, err)
				}
			}
		})
	}
}

// flipHex replaces the hex digit b[i] with another one.
func flipHex(b []byte, i int) {
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
}

func mapsEqual(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return len(a) == len(b)
}

// TestVerifyStreamRefuses checks the failures VerifyStream reports itself,
// before any content is read.
func TestVerifyStreamRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		request func(t *testing.T) *http.Request
		code    string
		message string
	}{
		{name: "no x-amz-content-sha256", code: sigv4.CodeMissingContentSHA256,
			message: "Missing required header for this request: x-amz-content-sha256",
			request: func(t *testing.T) *http.Request {
				r, _ := s3Request(t, "", []byte("abc"), -1)
				return r
			}},
		{name: "x-amz-content-sha256 neither keyword nor hash", code: sigv4.CodeInvalidArgument,
			request: func(t *testing.T) *http.Request {
				r, _ := s3Request(t, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", []byte("abc"), -1)
				return r
			}},
		{name: "x-amz-content-sha256 short hex", code: sigv4.CodeInvalidArgument,
			request: func(t *testing.T) *http.Request {
				r, _ := s3Request(t, emptyHash[:60], []byte("abc"), -1)
				return r
			}},
		{name: "bad decoded length", code: sigv4.CodeInvalidArgument,
			request: func(t *testing.T) *http.Request {
				r, _ := s3Request(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", nil, -1)
				r.Header.Set("X-Amz-Decoded-Content-Length", "-1")
				return signAgain(t, r, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
			}},
		{name: "payload hash changed after signing", code: sigv4.CodeInvalidSignature,
			request: func(t *testing.T) *http.Request {
				r, _ := s3Request(t, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", nil, 0)
				r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
				return r
			}},
		{name: "wrong signature", code: sigv4.CodeInvalidSignature,
			request: func(t *testing.T) *http.Request {
				r, _ := s3Request(t, "UNSIGNED-PAYLOAD", nil, -1)
				auth := r.Header.Get("Authorization")
				last := "0"
				if strings.HasSuffix(auth, "0") {
					last = "1"
				}
				r.Header.Set("Authorization", auth[:len(auth)-1]+last)
				return r
			}},
		{name: "not signed", code: sigv4.CodeMissingAuthenticationToken,
			request: func(t *testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, s3URL, nil) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, p, err := newVerifier(signTime).VerifyStream(c.request(t), "s3")
			e := authError(t, err)
			if e.Code != c.code || c.message != "" && e.Message != c.message {
				t.Errorf("got %s %q, want %s %q", e.Code, e.Message, c.code, c.message)
			}
			if p != nil {
				t.Error("a payload with the error")
			}
		})
	}
}

// signAgain replaces r's signature with a fresh one over its headers.
func signAgain(t *testing.T, r *http.Request, payloadHash string) *http.Request {
	t.Helper()
	r.Header.Del("Authorization")
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, r, payloadHash, "s3", testRegion, signTime,
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestVerifyStreamPresigned checks query authentication: the body is
// unsigned unless X-Amz-Content-Sha256 is a query parameter.
func TestVerifyStreamPresigned(t *testing.T) {
	t.Parallel()
	data := content(5000)
	presign := func(t *testing.T, query, payloadHash string) string {
		t.Helper()
		r := httptest.NewRequest(http.MethodPut, s3URL+"?X-Amz-Expires=300"+query, nil)
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), testCreds, r, payloadHash, "s3", testRegion, signTime,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, c := range []struct {
		name     string
		url      func(t *testing.T) string
		body     []byte
		unsigned bool
		code     string
	}{
		{name: "unsigned body", body: data, unsigned: true,
			url: func(t *testing.T) string { return presign(t, "", "UNSIGNED-PAYLOAD") }},
		{name: "hash in query", body: data,
			url: func(t *testing.T) string {
				return presign(t, "&X-Amz-Content-Sha256="+hexSHA(data), hexSHA(data))
			}},
		{name: "hash in query, other body", body: content(5001), code: sigv4.CodeContentSHA256Mismatch,
			url: func(t *testing.T) string {
				return presign(t, "&X-Amz-Content-Sha256="+hexSHA(data), hexSHA(data))
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPut, c.url(t), bytes.NewReader(c.body))
			id, p, err := newVerifier(signTime.Add(time.Minute)).VerifyStream(r, "s3")
			if err != nil {
				t.Fatalf("VerifyStream: %v", err)
			}
			if id.UnsignedPayload != c.unsigned {
				t.Errorf("identity %+v", id)
			}
			got, err := readPayload(p, 1000)
			if c.code != "" {
				if e := authError(t, err); e.Code != c.code {
					t.Fatalf("Read ended with %v, want %s", err, c.code)
				}
				return
			}
			if err != nil || !bytes.Equal(got, c.body) {
				t.Fatalf("Read: %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestVerifyStreamDocumentedExample verifies the chunked PUT of "Signature
// Calculations for the Authorization Header: Transferring Payload in
// Multiple Chunks" in the Amazon S3 API Reference: 64 KiB and 1 KiB of 'a'.
func TestVerifyStreamDocumentedExample(t *testing.T) {
	t.Parallel()
	var body bytes.Buffer
	for _, c := range []struct {
		size int
		sig  string
	}{
		{0x10000, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"},
		{0x400, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"},
		{0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"},
	} {
		fmt.Fprintf(&body, "%x;chunk-signature=%s\r\n%s\r\n", c.size, c.sig, strings.Repeat("a", c.size))
	}
	encoded := body.Bytes()
	send := func(b []byte) *http.Request {
		r := httptest.NewRequest(http.MethodPut, "http://s3.amazonaws.com/examplebucket/chunkObject.txt", bytes.NewReader(b))
		r.ContentLength = 66824
		r.Header.Set("Content-Encoding", "aws-chunked")
		r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("X-Amz-Decoded-Content-Length", "66560")
		r.Header.Set("X-Amz-Storage-Class", "REDUCED_REDUNDANCY")
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "+
			"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class, "+
			"Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
		return r
	}
	v := newVerifier(time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	if len(encoded) != 66824 {
		t.Fatalf("encoded %d bytes", len(encoded))
	}
	_, p, err := v.VerifyStream(send(encoded), "s3")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readPayload(p, 4096)
	if err != nil || string(got) != strings.Repeat("a", 66560) {
		t.Fatalf("Read: %d bytes, %v", len(got), err)
	}
	tampered := bytes.Clone(encoded)
	tampered[66_000] = 'b'
	_, p, err = v.VerifyStream(send(tampered), "s3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readPayload(p, 4096); err == nil || authError(t, err).Code != sigv4.CodeChunkSignature {
		t.Fatalf("tampered chunk: %v", err)
	}
}

// TestVerifyDoesNotDecodeStreams keeps Verify as it was: a STREAMING-*
// payload hash is taken as signed and the body is not examined.
func TestVerifyDoesNotDecodeStreams(t *testing.T) {
	t.Parallel()
	r, _ := s3Request(t, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", nil, 3)
	id, err := newVerifier(signTime).Verify(r, []byte("not chunked"), "s3")
	if err != nil || !id.UnsignedPayload {
		t.Fatalf("Verify: %+v, %v", id, err)
	}
	r, _ = s3Request(t, "", []byte("abc"), -1)
	if _, err := newVerifier(signTime).Verify(r, []byte("abc"), "s3"); err != nil {
		t.Fatalf("Verify without x-amz-content-sha256: %v", err)
	}
}

// SHA256 names the hash a body is checked against, and only then.
func TestPayloadSHA256(t *testing.T) {
	t.Parallel()
	body := []byte("hashed body")
	sum := sha256.Sum256(body)
	for _, tc := range []struct{ claimed, want string }{
		{hex.EncodeToString(sum[:]), hex.EncodeToString(sum[:])},
		{"UNSIGNED-PAYLOAD", ""},
	} {
		r, _ := s3Request(t, tc.claimed, body, -1)
		_, p, err := newVerifier(signTime).VerifyStream(r, "s3")
		if err != nil {
			t.Fatalf("%s: %v", tc.claimed, err)
		}
		if got := p.SHA256(); got != tc.want {
			t.Errorf("%s: SHA256() = %q, want %q", tc.claimed, got, tc.want)
		}
	}
}
