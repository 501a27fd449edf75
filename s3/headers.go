package s3

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
)

// checksumAlgorithms are the x-amz-checksum-* S3 knows, by header suffix.
var checksumAlgorithms = map[string]string{
	"crc32": "CRC32", "crc32c": "CRC32C", "crc64nvme": "CRC64NVME", "sha1": "SHA1", "sha256": "SHA256",
}

// storedHeaders are the request headers an object keeps and answers.
var storedHeaders = []string{"Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires"}

// putOptions reads what a PutObject, CreateMultipartUpload or UploadPart
// says about the object from q's headers.
func putOptions(q *request) (artifacts.PutOptions, error) {
	h := q.Header
	opt := artifacts.PutOptions{ContentType: h.Get("Content-Type"), Size: q.payload.Size()}
	for _, name := range storedHeaders {
		v := h.Get(name)
		if name == "Content-Encoding" {
			v = stripChunked(v)
		}
		if v != "" {
			if opt.Headers == nil {
				opt.Headers = map[string]string{}
			}
			opt.Headers[name] = v
		}
	}
	for name, vs := range h {
		if m, ok := strings.CutPrefix(strings.ToLower(name), "x-amz-meta-"); ok && m != "" {
			if opt.Metadata == nil {
				opt.Metadata = map[string]string{}
			}
			opt.Metadata[m] = strings.Join(vs, ",")
		}
	}
	if t := h.Get("X-Amz-Tagging"); t != "" {
		tags, err := parseTagging(t)
		if err != nil {
			return opt, err
		}
		opt.Tags = tags
	}
	if md5 := h.Get("Content-Md5"); md5 != "" {
		if b, err := base64.StdEncoding.DecodeString(md5); err != nil || len(b) != 16 {
			return opt, errInvalidDigest
		}
		opt.ContentMD5 = md5
	}
	alg, value, err := checksumOf(q)
	if err != nil {
		return opt, err
	}
	opt.ChecksumAlgorithm = alg
	opt.Checksum = value
	switch t := strings.ToUpper(h.Get("X-Amz-Checksum-Type")); t {
	case "", "COMPOSITE", "FULL_OBJECT":
		opt.ChecksumType = t
	default:
		return opt, invalidRequest("Value for x-amz-checksum-type header is invalid.")
	}
	cond, err := writeConditions(q)
	if err != nil {
		return opt, err
	}
	opt.IfNoneMatch, opt.IfMatch = cond.IfNoneMatch, cond.IfMatch
	return opt, nil
}

// checksumOf finds the x-amz-checksum-* the client sent or will send in
// the trailer: its algorithm and a function giving its value once the
// body has been read.
func checksumOf(q *request) (string, func() string, error) {
	h := q.Header
	alg := strings.ToUpper(h.Get("X-Amz-Sdk-Checksum-Algorithm"))
	if alg == "" {
		alg = strings.ToUpper(h.Get("X-Amz-Checksum-Algorithm"))
	}
	var header, trailer string
	for suffix, name := range checksumAlgorithms {
		if v := h.Get("X-Amz-Checksum-" + suffix); v != "" {
			if header != "" {
				return "", nil, invalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
			}
			header, alg = v, name
		}
	}
	for _, t := range strings.Split(h.Get("X-Amz-Trailer"), ",") {
		t = strings.ToLower(strings.TrimSpace(t))
		if suffix, ok := strings.CutPrefix(t, "x-amz-checksum-"); ok {
			name, known := checksumAlgorithms[suffix]
			if !known {
				return "", nil, invalidRequest("The value specified in the x-amz-trailer header is not supported")
			}
			trailer, alg = t, name
		}
	}
	if alg != "" && !isAlgorithm(alg) {
		return "", nil, invalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
	}
	value := func() string {
		if header != "" {
			return header
		}
		if trailer != "" {
			return q.payload.Trailer()[trailer]
		}
		return ""
	}
	return alg, value, nil
}

func isAlgorithm(a string) bool {
	for _, n := range checksumAlgorithms {
		if n == a {
			return true
		}
	}
	return false
}

// stripChunked removes aws-chunked, which is the request's framing, not
// the object's encoding, from a Content-Encoding.
func stripChunked(v string) string {
	var keep []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !strings.EqualFold(p, "aws-chunked") {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, ",")
}

// parseTagging reads x-amz-tagging's "k=v&k2=v2".
func parseTagging(s string) ([]artifacts.Tag, error) {
	vals, err := url.ParseQuery(s)
	if err != nil {
		return nil, invalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", "x-amz-tagging", s)
	}
	var tags []artifacts.Tag
	for k, vs := range vals {
		if len(vs) != 1 {
			return nil, invalidArgument("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.", "x-amz-tagging", s)
		}
		tags = append(tags, artifacts.Tag{Key: k, Value: vs[0]})
	}
	return tags, checkTags(tags)
}

// etagOf is the object's ETag, unquoted.
func etagOf(o artifacts.Object) string {
	if o.ETag != "" {
		return o.ETag
	}
	return o.MD5
}

// setObjectHeaders sets the headers GetObject and HeadObject answer for o;
// with checksums, the object's x-amz-checksum-* too.
func setObjectHeaders(w http.ResponseWriter, o artifacts.Object, checksums bool) {
	h := w.Header()
	ct := o.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", `"`+etagOf(o)+`"`)
	h.Set("Last-Modified", httpTime(o.Modified))
	h.Set("Accept-Ranges", "bytes")
	for name, v := range o.Headers {
		h.Set(name, v)
	}
	for name, v := range o.Metadata {
		h["X-Amz-Meta-"+name] = []string{v}
	}
	if o.TagCount > 0 {
		h.Set("X-Amz-Tagging-Count", strconv.Itoa(o.TagCount))
	}
	if checksums && o.ChecksumAlgorithm != "" && o.Checksum != "" {
		h.Set("X-Amz-Checksum-"+strings.ToLower(o.ChecksumAlgorithm), o.Checksum)
		if o.ChecksumType != "" {
			h.Set("X-Amz-Checksum-Type", o.ChecksumType)
		}
	}
}

// setChecksumHeader answers the checksum a write computed.
func setChecksumHeader(w http.ResponseWriter, alg, value, typ string) {
	if alg == "" || value == "" {
		return
	}
	w.Header().Set("X-Amz-Checksum-"+strings.ToLower(alg), value)
	if typ != "" {
		w.Header().Set("X-Amz-Checksum-Type", typ)
	}
}

// writeConditions reads a write's If-Match and If-None-Match: S3 takes
// only "*" for the latter.
func writeConditions(q *request) (artifacts.Conditions, error) {
	c := artifacts.Conditions{IfNoneMatch: q.Header.Get("If-None-Match"), IfMatch: q.Header.Get("If-Match")}
	if c.IfNoneMatch != "" && c.IfNoneMatch != "*" {
		return c, newErr(http.StatusNotImplemented, "NotImplemented", "A header you provided implies functionality that is not implemented").
			with("Header", "If-None-Match")
	}
	return c, nil
}
