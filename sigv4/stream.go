package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// The x-amz-content-sha256 values that announce an aws-chunked body.
const (
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// The codes VerifyStream and Payload.Read report besides Verify's. Their
// values are S3's error codes, so the S3 endpoint can answer them as they
// are (all with HTTP 400).
const (
	// CodeContentSHA256Mismatch is reported by Payload.Read when the body
	// does not hash to the hex SHA-256 the client signed.
	CodeContentSHA256Mismatch = "XAmzContentSHA256Mismatch"
	// CodeChunkSignature is reported by Payload.Read when an aws-chunked
	// chunk signature or the trailer signature does not match.
	CodeChunkSignature = "SignatureDoesNotMatch"
	// CodeIncompleteBody is reported by Payload.Read when the body ends
	// early (before Content-Length or x-amz-decoded-content-length bytes),
	// carries more content than x-amz-decoded-content-length, or is not
	// well-formed aws-chunked framing.
	CodeIncompleteBody = "IncompleteBody"
	// CodeMalformedTrailer is reported by Payload.Read when the trailer of
	// an aws-chunked body is not well-formed: a line without a name, a
	// repeated name, a trailer x-amz-trailer does not declare or a declared
	// one missing, a trailer signature missing where one is required or
	// present where none is.
	CodeMalformedTrailer = "MalformedTrailerError"
	// CodeMissingContentSHA256 is reported by VerifyStream for a request
	// signed in the Authorization header without an x-amz-content-sha256
	// header, which S3 requires (presigned URLs need none).
	CodeMissingContentSHA256 = "InvalidRequest"
	// CodeInvalidArgument is reported by VerifyStream when
	// x-amz-content-sha256 is neither a known keyword nor a hex SHA-256, or
	// x-amz-decoded-content-length is not a number.
	CodeInvalidArgument = "InvalidArgument"
)

const (
	msgMissingContentSHA = "Missing required header for this request: x-amz-content-sha256"
	msgBadContentSHA     = "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, " +
		"STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value."
	msgBadDecodedLength = "x-amz-decoded-content-length must be a non-negative integer."
	msgIncompleteBody   = "You did not provide the number of bytes specified by the Content-Length HTTP header."
)

// streamAuth is what a verified request's body is checked with: the
// payload hash line the request was signed with and, for the signed
// aws-chunked forms, the signing key, the request's signature (the seed of
// the chunk signatures), the signing time and the credential scope.
type streamAuth struct {
	claimed string
	key     [sha256.Size]byte
	seed    [sha256.Size]byte
	stamp   string
	scope   string
}

func (st *streamAuth) set(claimed string, key, seed [sha256.Size]byte, stamp, date, region, service string) {
	st.claimed = claimed
	st.key = key
	st.seed = seed
	st.stamp = stamp
	st.scope = date + "/" + region + "/" + service + "/" + terminator
}

// VerifyStream verifies r's signature like Verify, without reading r.Body,
// and returns the payload to read the request's content from. It is what
// the S3 endpoint uses.
//
// The payload hash of the canonical request is the x-amz-content-sha256
// header as sent (a presigned URL's X-Amz-Content-Sha256 parameter, or
// UNSIGNED-PAYLOAD when there is neither). The body is checked as it is
// read: a hex hash at its end, an aws-chunked body's chunk and trailer
// signatures chunk by chunk. Identity.UnsignedPayload is set only where
// nothing checks the content: UNSIGNED-PAYLOAD and
// STREAMING-UNSIGNED-PAYLOAD-TRAILER.
//
// Besides Verify's codes, VerifyStream reports CodeMissingContentSHA256
// and CodeInvalidArgument; the body's failures come from Payload.Read.
// r.Body is neither read nor closed here; the Payload reads it, and closing
// it stays with the caller (net/http's server does).
func (v *Verifier) VerifyStream(r *http.Request, service string) (Identity, *Payload, error) {
	var st streamAuth
	id, err := v.verify(r, nil, service, &st)
	if err != nil {
		return Identity{}, nil, err
	}
	p, perr := newPayload(r, &st)
	if perr != nil {
		return Identity{}, nil, perr
	}
	id.UnsignedPayload = st.claimed == unsignedPayload || st.claimed == streamingUnsignedTrailer
	return id, p, nil
}

// streamPayloadHash appends the payload hash line for VerifyStream and
// reports whether it leaves the content unchecked.
func streamPayloadHash(dst []byte, r *http.Request, a *authorization) ([]byte, bool, *Error) {
	claimed := firstValue(lookupHeader(r.Header, "x-amz-content-sha256"))
	if a.query && !signsHeader(a.signedHeaders, "x-amz-content-sha256") {
		claimed = a.contentSHA
		if claimed == "" {
			claimed = unsignedPayload
		}
	}
	switch {
	case claimed == "":
		return nil, false, newError(CodeMissingContentSHA256, msgMissingContentSHA)
	case claimed == unsignedPayload || claimed == streamingUnsignedTrailer:
		return append(dst, claimed...), true, nil
	case claimed == streamingSigned || claimed == streamingSignedTrailer:
		return append(dst, claimed...), false, nil
	}
	var sum [sha256.Size]byte
	if !decodeHex(sum[:], claimed) {
		return nil, false, newError(CodeInvalidArgument, msgBadContentSHA)
	}
	return append(dst, claimed...), false, nil
}

// Payload is a request's decoded content. Read returns the content bytes
// (aws-chunked framing removed). Where the content cannot be trusted, Read
// returns an *Error instead of io.EOF at the point it finds out (a signed
// hex hash that does not match at the end, a chunk signature that does not
// match, malformed framing, a trailer signature that does not match, a
// body shorter than x-amz-decoded-content-length), so a consumer that
// commits only on io.EOF never stores a bad body.
//
// Bytes of a chunk are returned as they arrive, before the chunk's
// signature is checked at its end; memory use does not depend on chunk
// sizes. Once Read has returned an error (io.EOF included) it returns the
// same error again. Errors of the underlying body other than an early end
// are returned as they are. A Payload is not safe for concurrent use.
type Payload struct {
	body    io.Reader
	size    int64
	read    int64
	err     error
	sum     hash.Hash // the content's SHA-256, for a hex payload hash
	want    string    // that hex payload hash
	chunked *chunkDecoder
}

// newPayload prepares the reader of r's body for the payload hash st
// holds.
func newPayload(r *http.Request, st *streamAuth) (*Payload, *Error) {
	var body io.Reader = r.Body
	if r.Body == nil {
		body = http.NoBody
	}
	p := &Payload{body: body, size: r.ContentLength}
	switch st.claimed {
	case unsignedPayload:
	case streamingSigned, streamingSignedTrailer, streamingUnsignedTrailer:
		size := int64(-1)
		if raw := firstValue(lookupHeader(r.Header, "x-amz-decoded-content-length")); raw != "" {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n < 0 {
				return nil, newError(CodeInvalidArgument, msgBadDecodedLength)
			}
			size = n
		}
		p.size = size
		p.chunked = newChunkDecoder(body, size, st, declaredTrailers(r))
	default:
		p.sum = sha256.New()
		p.want = st.claimed
	}
	return p, nil
}

// declaredTrailers returns the lower-cased names x-amz-trailer lists
// (comma-separated, possibly over several header lines).
func declaredTrailers(r *http.Request) []string {
	var names []string
	for _, v := range lookupHeader(r.Header, "x-amz-trailer") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

// Read reads up to len(b) bytes of content; see Payload.
func (p *Payload) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if len(b) == 0 {
		return 0, nil
	}
	if p.chunked != nil {
		n, err := p.chunked.Read(b)
		p.read += int64(n)
		if err != nil {
			p.err = err
		}
		return n, err
	}
	n, err := p.body.Read(b)
	if n > 0 {
		p.read += int64(n)
		if p.sum != nil {
			p.sum.Write(b[:n])
		}
	}
	switch {
	case err == io.EOF:
		err = p.finish()
	case err == io.ErrUnexpectedEOF:
		err = newError(CodeIncompleteBody, msgIncompleteBody)
	case err == nil && p.size >= 0 && p.read > p.size:
		err = newError(CodeIncompleteBody, "The request body is longer than its Content-Length.")
	}
	if err != nil {
		p.err = err
	}
	return n, err
}

// finish checks an unframed body at its end: its length against
// Content-Length and its hash against the signed one. It returns io.EOF
// when both hold.
func (p *Payload) finish() error {
	if p.size >= 0 && p.read != p.size {
		return newError(CodeIncompleteBody, msgIncompleteBody)
	}
	if p.sum != nil {
		var sum [sha256.Size]byte
		var got [2 * sha256.Size]byte
		hex.Encode(got[:], p.sum.Sum(sum[:0]))
		if !strings.EqualFold(string(got[:]), p.want) {
			return newError(CodeContentSHA256Mismatch, msgContentSHA)
		}
	}
	return io.EOF
}

// Trailer returns the trailing headers (lower-case names, e.g.
// "x-amz-checksum-crc32") once Read has returned io.EOF; nil before, or
// when there were none. The trailer signature is not among them.
func (p *Payload) Trailer() map[string]string {
	if p.err != io.EOF || p.chunked == nil || len(p.chunked.trailer) == 0 {
		return nil
	}
	return p.chunked.trailer
}

// SHA256 is the hex SHA-256 the content is checked against (a body
// signed with its hash, whose Read fails instead of ending when the
// content has another), or "" when the signature does not cover the body
// that way.
func (p *Payload) SHA256() string {
	if p.sum == nil {
		return ""
	}
	return p.want
}

// Size is the decoded content length when known
// (x-amz-decoded-content-length for aws-chunked, else Content-Length), -1
// when unknown.
func (p *Payload) Size() int64 { return p.size }
