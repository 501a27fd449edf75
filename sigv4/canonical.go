package sigv4

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const upperHex = "0123456789ABCDEF"

// unreserved reports whether c is in RFC 3986's unreserved set, the only
// bytes SigV4 leaves unescaped.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// appendEscaped appends s with every byte outside the unreserved set
// percent-encoded with upper-case hex; keepSlash leaves "/" as it is.
func appendEscaped(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// escapedPath is the request path as it travelled on the wire.
func escapedPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if p == "" {
		return "/"
	}
	return p
}

// uriForm selects how the wire path becomes the canonical URI.
type uriForm int

const (
	// uriNormalized: normalized, then escaped again (botocore, and the
	// SigV4 rule for every service but S3).
	uriNormalized uriForm = iota
	// uriEscaped: escaped again without normalizing (aws-sdk-go-v2).
	uriEscaped
	// uriAsSent: the wire path unchanged (S3).
	uriAsSent
)

// appendCanonicalURI appends the canonical URI of the wire path p.
//
// SigV4 wants the path of every service but S3 normalized and each segment
// "URI-encoded twice"; in practice both SDKs take the already-escaped wire
// path and escape it once more, so "/a%20b" is signed as "/a%2520b". The
// normalization is botocore's remove_dot_segments: empty and "." segments
// are dropped, ".." removes the previous segment, and a trailing slash is
// kept when any segment remains. aws-sdk-go-v2 skips it (uriEscaped); S3
// signs the path as sent (uriAsSent).
func appendCanonicalURI(dst []byte, p string, form uriForm) []byte {
	switch form {
	case uriAsSent:
		return append(dst, p...)
	case uriEscaped:
		return appendEscaped(dst, p, true)
	}
	if p == "/" {
		return append(dst, '/')
	}
	lead := p[0] == '/'
	trail := p[len(p)-1] == '/'
	if lead {
		dst = append(dst, '/')
	}
	base := len(dst)
	n := 0
	for rest := p; rest != ""; {
		var seg string
		seg, rest, _ = strings.Cut(rest, "/")
		switch seg {
		case "", ".":
			continue
		case "..":
			if n > 0 {
				n--
				if i := bytes.LastIndexByte(dst[base:], '/'); i >= 0 && n > 0 {
					dst = dst[:base+i]
				} else {
					dst = dst[:base]
				}
			}
			continue
		}
		if n > 0 {
			dst = append(dst, '/')
		}
		dst = appendEscaped(dst, seg, false)
		n++
	}
	if trail && n > 0 {
		dst = append(dst, '/')
	}
	return dst
}

// mayNormalize reports whether normalizing p can change it (repeated
// slashes or dot segments); only then do normalized and raw forms differ.
func mayNormalize(p string) bool {
	return strings.Contains(p, "//") || strings.Contains(p, "/.")
}

type queryParam struct{ key, value string }

// appendCanonicalQuery appends the canonical query string of raw: each
// name and value decoded, re-encoded per SigV4 ("%20" for a space, upper
// hex), sorted by encoded name then encoded value, joined with "&". A name
// without "=" gets an empty value. When skipSignature is set the
// X-Amz-Signature parameter is left out (presigned URLs).
//
// Decoding follows url.ParseQuery, which is what aws-sdk-go-v2 signs from
// ("+" is a space); a malformed escape is kept literally, so its "%" is
// re-encoded as "%25".
func appendCanonicalQuery(dst []byte, raw string, skipSignature bool) []byte {
	if raw == "" {
		return dst
	}
	var buf [16]queryParam
	params := buf[:0]
	var enc []byte
	for rest := raw; rest != ""; {
		var pair string
		pair, rest, _ = strings.Cut(rest, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescapeQuery(k), unescapeQuery(v)
		if skipSignature && k == "X-Amz-Signature" {
			continue
		}
		enc = appendEscaped(enc[:0], k, false)
		ek := string(enc)
		enc = appendEscaped(enc[:0], v, false)
		params = append(params, queryParam{ek, string(enc)})
	}
	slices.SortFunc(params, func(a, b queryParam) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.key...)
		dst = append(dst, '=')
		dst = append(dst, p.value...)
	}
	return dst
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// appendCanonicalHeaders appends one "name:value\n" line per name in the
// request's own semicolon-separated signedHeaders list, in that order.
// Names are lower-cased; "host" is r.Host. Several values of one header are
// joined with ","; each value is trimmed and its runs of spaces collapsed.
func appendCanonicalHeaders(dst []byte, r *http.Request, signedHeaders string) []byte {
	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		for i := 0; i < len(name); i++ {
			c := name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
		dst = append(dst, ':')
		if strings.EqualFold(name, "host") {
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			dst = appendTrimmed(dst, host)
		} else {
			for i, v := range headerValues(r, name) {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendTrimmed(dst, v)
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

// headerValues returns the values of the header called name (any case).
// net/http moves Content-Length and Transfer-Encoding of chunked requests
// out of the header map; their values are rebuilt from the request.
func headerValues(r *http.Request, name string) []string {
	if v := lookupHeader(r.Header, name); v != nil {
		return v
	}
	switch {
	case strings.EqualFold(name, "content-length"):
		if r.ContentLength >= 0 && len(r.TransferEncoding) == 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}
		}
	case strings.EqualFold(name, "transfer-encoding"):
		return r.TransferEncoding
	}
	return nil
}

// lookupHeader finds name in h: first under its canonical MIME form (the
// form net/http stores), built without allocating, then by a scan that
// tolerates keys stored in other cases.
func lookupHeader(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) <= len(buf) {
		b := buf[:len(name)]
		upper := true
		for i := 0; i < len(name); i++ {
			c := name[i]
			switch {
			case upper && 'a' <= c && c <= 'z':
				c -= 'a' - 'A'
			case !upper && 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			}
			b[i] = c
			upper = c == '-'
		}
		if v, ok := h[string(b)]; ok {
			return v
		}
	}
	var found []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			found = append(found, v...)
		}
	}
	return found
}

// appendTrimmed appends v without leading and trailing white space and with
// each run of spaces collapsed to one, SigV4's Trimall. Only spaces are
// collapsed, as the SigV4 documentation and aws-sdk-go-v2 do (botocore also
// collapses tabs inside a value; clients do not send such values).
func appendTrimmed(dst []byte, v string) []byte {
	v = strings.Trim(v, " \t\r\n")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// signsHeader reports whether the semicolon-separated list includes name
// (case-insensitively).
func signsHeader(signedHeaders, name string) bool {
	for rest := signedHeaders; rest != ""; {
		var h string
		h, rest, _ = strings.Cut(rest, ";")
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}
