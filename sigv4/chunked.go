package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"slices"
	"strings"
)

const (
	// chunkLineMax bounds a chunk header or trailer line (a signed chunk
	// header is under 100 bytes); it is the decoder's read buffer.
	chunkLineMax = 4096
	// maxTrailers bounds the trailing headers of one body.
	maxTrailers = 16
	// maxChunkDigits keeps a chunk size within int64.
	maxChunkDigits = 15
	// emptySHA256 is the hex SHA-256 of nothing, the "headers" hash of
	// every chunk's string to sign.
	emptySHA256      = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	chunkAlgorithm   = "AWS4-HMAC-SHA256-PAYLOAD"
	trailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"
	trailerSigName   = "x-amz-trailer-signature"
	chunkSigExt      = "chunk-signature="
)

type chunkState uint8

const (
	stateHeader  chunkState = iota // before a chunk header line
	stateData                      // inside a chunk's data
	stateDataEnd                   // before the CRLF closing a chunk's data
	stateTrailer                   // in the trailer section
	stateDone                      // the body ended well
)

// chunkDecoder reads the content out of an aws-chunked body:
//
//	hex-size[;chunk-signature=sig] CRLF data CRLF   (repeated)
//	0[;chunk-signature=sig] CRLF
//	CRLF                                            (no trailer), or
//	name:value CRLF ... [x-amz-trailer-signature:sig CRLF] CRLF
//
// Chunk signatures are present and checked in the signed forms, each an
// HMAC chained from the request's signature; the trailer signature in the
// signed trailer form. It holds one line at a time, never a chunk's data:
// Read passes data straight through into the caller's buffer.
//
// Chunk header lines must end in CRLF; trailer lines may end in LF alone.
// A blank line between the final chunk and the trailer is skipped, and a
// trailer section that ends at the end of the body without its blank line
// is accepted: senders differ there, and neither carries content.
type chunkDecoder struct {
	br            *bufio.Reader
	signed        bool // chunk signatures present and checked
	trailers      bool // a trailer section follows the final chunk
	declared      []string
	size          int64 // x-amz-decoded-content-length, or -1
	n             int64 // content bytes returned so far
	remaining     int64 // bytes left in the current chunk
	state         chunkState
	key           [sha256.Size]byte
	stamp, scope  string
	prev, want    [sha256.Size]byte // previous signature; the current chunk's claimed one
	h             hash.Hash         // SHA-256 of the current chunk
	scratch       []byte
	trailer       map[string]string
	trailerSig    [sha256.Size]byte
	haveSig       bool
	skippedBlank  bool
	signedTrailer bool
	err           error // the error Read failed with
}

// newChunkDecoder decodes body, an aws-chunked body of the form st.claimed
// names, whose content is size bytes long (-1: unknown) and whose trailer
// holds exactly the declared names (any, when none are declared).
func newChunkDecoder(body io.Reader, size int64, st *streamAuth, declared []string) *chunkDecoder {
	d := &chunkDecoder{
		br:       bufio.NewReaderSize(body, chunkLineMax),
		signed:   st.claimed == streamingSigned || st.claimed == streamingSignedTrailer,
		trailers: st.claimed != streamingSigned,
		declared: declared,
		size:     size,
		key:      st.key,
		stamp:    st.stamp,
		scope:    st.scope,
		prev:     st.seed,
	}
	d.signedTrailer = d.signed && d.trailers
	if d.signed {
		d.h = sha256.New()
	}
	return d
}

// Read returns content bytes, io.EOF once the whole body has checked out,
// or the *Error that shows it cannot be trusted; after an error, that
// error again.
func (d *chunkDecoder) Read(b []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.read(b)
	if err != nil && err != io.EOF {
		d.err = err
	}
	return n, err
}

func (d *chunkDecoder) read(b []byte) (int, error) {
	for {
		var err error
		switch d.state {
		case stateHeader:
			err = d.readHeader()
		case stateData:
			return d.readData(b)
		case stateDataEnd:
			err = d.endChunk()
		case stateTrailer:
			err = d.readTrailerLine()
		case stateDone:
			return 0, io.EOF
		}
		if err != nil {
			return 0, err
		}
	}
}

// readHeader reads a chunk header line and moves on to its data, or past
// the final chunk.
func (d *chunkDecoder) readHeader() error {
	line, eof, err := d.line(true)
	if err != nil {
		return err
	}
	if eof {
		return incompleteBody()
	}
	size, ok := parseChunkHeader(line, d.signed, &d.want)
	if !ok {
		return malformedChunk("bad chunk header")
	}
	if d.size >= 0 && size > d.size-d.n {
		return newError(CodeIncompleteBody, "The request body holds more than x-amz-decoded-content-length bytes.")
	}
	if size > 0 {
		d.remaining = size
		if d.signed {
			d.h.Reset()
		}
		d.state = stateData
		return nil
	}
	if d.signed {
		if err := d.checkChunk(emptySum[:]); err != nil {
			return err
		}
	}
	if d.size >= 0 && d.n != d.size {
		return incompleteBody()
	}
	if d.trailers {
		d.state = stateTrailer
		return nil
	}
	if err := d.crlf(); err != nil {
		return err
	}
	return d.end()
}

// readData passes up to len(b) bytes of the current chunk through.
func (d *chunkDecoder) readData(b []byte) (int, error) {
	if int64(len(b)) > d.remaining {
		b = b[:d.remaining]
	}
	n, err := d.br.Read(b)
	if n > 0 {
		if d.signed {
			d.h.Write(b[:n])
		}
		d.remaining -= int64(n)
		d.n += int64(n)
		if d.remaining == 0 {
			d.state = stateDataEnd
		}
		return n, nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return 0, incompleteBody()
	}
	return 0, err
}

// endChunk reads the CRLF after a chunk's data and checks its signature.
func (d *chunkDecoder) endChunk() error {
	if err := d.crlf(); err != nil {
		return err
	}
	if d.signed {
		var sum [sha256.Size]byte
		if err := d.checkChunk(d.h.Sum(sum[:0])); err != nil {
			return err
		}
	}
	d.state = stateHeader
	return nil
}

// checkChunk compares the claimed signature of the chunk whose data
// hashes to sum with the one computed, and chains it.
func (d *chunkDecoder) checkChunk(sum []byte) error {
	got := d.chunkSignature(sum)
	if !hmac.Equal(got[:], d.want[:]) {
		return newError(CodeChunkSignature, msgMismatch)
	}
	d.prev = got
	return nil
}

// chunkSignature is the signature of the chunk whose data hashes to sum,
// following the previous one.
func (d *chunkDecoder) chunkSignature(sum []byte) [sha256.Size]byte {
	buf := hmacBlock(d.scratch[:0], &d.key, 0x36)
	buf = append(buf, chunkAlgorithm+"\n"...)
	buf = d.appendScope(buf)
	buf = append(buf, emptySHA256+"\n"...)
	buf = hex.AppendEncode(buf, sum)
	d.scratch = buf
	return signature(&d.key, buf)
}

// trailerSignature is the signature of the trailer gathered so far: over
// its lines "name:value\n" in name order, following the final chunk's
// signature.
func (d *chunkDecoder) trailerSignature() [sha256.Size]byte {
	names := make([]string, 0, len(d.trailer))
	for name := range d.trailer {
		names = append(names, name)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		h.Write([]byte(name))
		h.Write([]byte{':'})
		h.Write([]byte(d.trailer[name]))
		h.Write([]byte{'\n'})
	}
	var sum [sha256.Size]byte
	buf := hmacBlock(d.scratch[:0], &d.key, 0x36)
	buf = append(buf, trailerAlgorithm+"\n"...)
	buf = d.appendScope(buf)
	buf = hex.AppendEncode(buf, h.Sum(sum[:0]))
	d.scratch = buf
	return signature(&d.key, buf)
}

// appendScope appends the lines every chunk and trailer string to sign
// shares after the algorithm: time, scope and previous signature.
func (d *chunkDecoder) appendScope(buf []byte) []byte {
	buf = append(buf, d.stamp...)
	buf = append(buf, '\n')
	buf = append(buf, d.scope...)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, d.prev[:])
	return append(buf, '\n')
}

// readTrailerLine reads one line of the trailer section.
func (d *chunkDecoder) readTrailerLine() error {
	line, eof, err := d.line(false)
	if err != nil {
		return err
	}
	if eof {
		return d.endTrailer(false)
	}
	if len(line) == 0 {
		if len(d.trailer) == 0 && !d.haveSig && !d.skippedBlank {
			// Either an empty trailer's end or a blank line before the
			// trailer: only what follows tells.
			if _, err := d.br.Peek(1); err == io.EOF {
				return d.endTrailer(false)
			}
			d.skippedBlank = true
			return nil
		}
		return d.endTrailer(true)
	}
	if d.haveSig {
		return malformedTrailer("a line follows the trailer signature")
	}
	rawName, rawValue, ok := bytes.Cut(line, []byte{':'})
	if !ok || !validHeaderName(rawName) {
		return malformedTrailer("a trailer line is not name:value")
	}
	name := strings.ToLower(string(rawName))
	value := strings.Trim(string(rawValue), " \t")
	if name == trailerSigName {
		if !d.signedTrailer {
			return malformedTrailer("a trailer signature in an unsigned trailer")
		}
		if !decodeHex(d.trailerSig[:], value) {
			return malformedTrailer("the trailer signature is not 64 hex digits")
		}
		d.haveSig = true
		return nil
	}
	if _, dup := d.trailer[name]; dup {
		return malformedTrailer("trailer " + name + " is repeated")
	}
	if len(d.trailer) >= maxTrailers {
		return malformedTrailer("too many trailers")
	}
	if len(d.declared) > 0 && !slices.Contains(d.declared, name) {
		return malformedTrailer("trailer " + name + " is not declared in x-amz-trailer")
	}
	if d.trailer == nil {
		d.trailer = make(map[string]string, 1)
	}
	d.trailer[name] = value
	return nil
}

// endTrailer checks the complete trailer: every declared name present and,
// in the signed form, its signature. atLine says the body may go on after
// the trailer's blank line (it must not).
func (d *chunkDecoder) endTrailer(atLine bool) error {
	for _, name := range d.declared {
		if _, ok := d.trailer[name]; !ok {
			return malformedTrailer("declared trailer " + name + " is missing")
		}
	}
	if d.signedTrailer {
		if !d.haveSig {
			return malformedTrailer("the trailer signature is missing")
		}
		got := d.trailerSignature()
		if !hmac.Equal(got[:], d.trailerSig[:]) {
			return newError(CodeChunkSignature, msgMismatch)
		}
	}
	if atLine {
		return d.end()
	}
	d.state = stateDone
	return nil
}

// end checks that nothing follows the encoding's end.
func (d *chunkDecoder) end() error {
	switch _, err := d.br.ReadByte(); err {
	case nil:
		return malformedChunk("data follows the final chunk")
	case io.EOF:
		d.state = stateDone
		return nil
	case io.ErrUnexpectedEOF:
		return incompleteBody()
	default:
		return err
	}
}

// line reads one line without its line end; strict requires CRLF. eof
// reports the body's end before any byte of a line.
func (d *chunkDecoder) line(strict bool) (line []byte, eof bool, err error) {
	line, err = d.br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, false, malformedChunk("a line is too long")
	case err == io.EOF && len(line) == 0:
		return nil, true, nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, false, incompleteBody()
	case err != nil:
		return nil, false, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	} else if strict {
		return nil, false, malformedChunk("a line does not end in CRLF")
	}
	return line, false, nil
}

// crlf reads the CRLF that closes a chunk's data.
func (d *chunkDecoder) crlf() error {
	for _, want := range []byte{'\r', '\n'} {
		c, err := d.br.ReadByte()
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return incompleteBody()
		case err != nil:
			return err
		case c != want:
			return malformedChunk("chunk data is not followed by CRLF")
		}
	}
	return nil
}

// parseChunkHeader parses "hex-size" or, when signed,
// "hex-size;chunk-signature=<64 hex>" into the size and *sig.
func parseChunkHeader(line []byte, signed bool, sig *[sha256.Size]byte) (int64, bool) {
	digits, ext, hasExt := bytes.Cut(line, []byte{';'})
	if len(digits) == 0 || len(digits) > maxChunkDigits || hasExt != signed {
		return 0, false
	}
	var size int64
	for _, c := range digits {
		v, ok := fromHex(c)
		if !ok {
			return 0, false
		}
		size = size<<4 | int64(v)
	}
	if signed {
		hexSig, ok := bytes.CutPrefix(ext, []byte(chunkSigExt))
		if !ok || !decodeHex(sig[:], string(hexSig)) {
			return 0, false
		}
	}
	return size, true
}

// validHeaderName reports whether b is a non-empty HTTP token.
func validHeaderName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// emptySum is the SHA-256 of nothing, the data hash of the final chunk.
var emptySum = sha256.Sum256(nil)

func incompleteBody() *Error { return newError(CodeIncompleteBody, msgIncompleteBody) }

func malformedChunk(what string) *Error {
	return newError(CodeIncompleteBody, "The aws-chunked request body is malformed: "+what+".")
}

func malformedTrailer(what string) *Error {
	return newError(CodeMalformedTrailer,
		"The request contained trailing data that was not well-formed or did not conform to our published schema: "+what+".")
}
