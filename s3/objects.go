package s3

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pipewright/pipewright/artifacts"
)

func (h *Handler) putObject(q *request) error {
	if err := checkLength(q); err != nil {
		return err
	}
	opt, err := putOptions(q)
	if err != nil {
		return err
	}
	opt.SHA256 = q.payload.SHA256()
	o, err := h.cfg.Store.PutObject(q.ctx, q.bucket, q.key, h.bodyOf(q), opt)
	if err != nil {
		return err
	}
	hd := q.x.Header()
	hd.Set("ETag", `"`+etagOf(o)+`"`)
	setChecksumHeader(q.x, o.ChecksumAlgorithm, o.Checksum, o.ChecksumType)
	hd.Set("Content-Length", "0")
	q.x.WriteHeader(http.StatusOK)
	return nil
}

// maxObjectSize is the largest object one PutObject or UploadPart takes:
// 5 GiB, S3's limit.
const maxObjectSize = 5 << 30

// checkLength refuses, before any of it is read, a body that announces no
// length or more than maxObjectSize (bodyOf cuts off one that lies).
func checkLength(q *request) error {
	if q.ContentLength < 0 && q.payload.Size() < 0 {
		return errMissingLength
	}
	if q.payload.Size() > maxObjectSize {
		return errEntityTooLarge
	}
	return nil
}

func (h *Handler) headObject(q *request) error { return h.serveObject(q, false) }

func (h *Handler) getObject(q *request) error { return h.serveObject(q, true) }

// serveObject answers GetObject (with body) and HeadObject.
func (h *Handler) serveObject(q *request, body bool) error {
	f, o, err := h.cfg.Store.OpenObject(q.ctx, q.bucket, q.key)
	if err != nil {
		return err
	}
	defer f.Close()
	if status := checkConditions(q.Request, o, ""); status != 0 {
		if status == http.StatusNotModified {
			hd := q.x.Header()
			hd.Set("ETag", `"`+etagOf(o)+`"`)
			hd.Set("Last-Modified", httpTime(o.Modified))
			q.x.WriteHeader(status)
			return nil
		}
		return errPrecondition.with("Condition", conditionName(q.Request))
	}
	first, last, ranged, rerr := parseRange(q.Header.Get("Range"), o.Size)
	if rerr != nil {
		return rerr.with("ActualObjectSize", strconv.FormatInt(o.Size, 10)).with("RangeRequested", q.Header.Get("Range"))
	}
	if q.has("partNumber") {
		if q.Header.Get("Range") != "" {
			return invalidRequest("Cannot specify both Range header and partNumber query parameter")
		}
		var perr error
		if first, last, perr = partRange(o, q.param("partNumber")); perr != nil {
			return perr
		}
		ranged = o.Size > 0
	}
	full := !ranged || first == 0 && last == o.Size-1
	setObjectHeaders(q.x, o, full && strings.EqualFold(q.Header.Get("X-Amz-Checksum-Mode"), "ENABLED"))
	hd := q.x.Header()
	if q.has("partNumber") && o.Parts() > 0 {
		// S3 counts the parts only for a request that names one.
		hd.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(o.Parts()))
	}
	for _, p := range [][2]string{
		{"response-content-type", "Content-Type"}, {"response-content-language", "Content-Language"},
		{"response-expires", "Expires"}, {"response-cache-control", "Cache-Control"},
		{"response-content-disposition", "Content-Disposition"}, {"response-content-encoding", "Content-Encoding"},
	} {
		if v := q.param(p[0]); v != "" {
			hd.Set(p[1], v)
		}
	}
	n := o.Size
	status := http.StatusOK
	if ranged {
		n = last - first + 1
		status = http.StatusPartialContent
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(first, 10)+"-"+strconv.FormatInt(last, 10)+"/"+strconv.FormatInt(o.Size, 10))
	}
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	q.x.WriteHeader(status)
	if !body || n == 0 {
		return nil
	}
	if first > 0 {
		if _, err := f.Seek(first, 0); err != nil {
			panic(http.ErrAbortHandler)
		}
	}
	if _, err := h.answerOf(q).copyFrom(f, n); err != nil {
		// The status line is out; the client sees a short body.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// parseRange reads a single-range "bytes=" Range header against an object
// of size bytes. A header that is not a valid single byte range is
// ignored, as S3 does; one that does not overlap the object is
// InvalidRange.
func parseRange(hv string, size int64) (first, last int64, ranged bool, err *Error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(hv), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, false, nil
	}
	if a == "" {
		n, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 {
			return 0, 0, false, errInvalidRange
		}
		if size == 0 {
			return 0, 0, false, nil
		}
		return max(size-n, 0), size - 1, true, nil
	}
	f, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil || f < 0 {
		return 0, 0, false, nil
	}
	l := size - 1
	if b != "" {
		if l, perr = strconv.ParseInt(b, 10, 64); perr != nil || l < f {
			return 0, 0, false, nil
		}
	}
	if f >= size {
		return 0, 0, false, errInvalidRange
	}
	return f, min(l, size-1), true, nil
}

// checkConditions applies If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since (prefix "" for GetObject, "X-Amz-Copy-Source-" for a
// copy's source) as S3 does, returning 0 when the request goes ahead,
// else 304 or 412.
func checkConditions(r *http.Request, o artifacts.Object, prefix string) int {
	etag := etagOf(o)
	im, inm := r.Header.Get(prefix+"If-Match"), r.Header.Get(prefix+"If-None-Match")
	ims, ius := r.Header.Get(prefix+"If-Modified-Since"), r.Header.Get(prefix+"If-Unmodified-Since")
	mod := o.Modified.Truncate(time.Second)
	if im != "" {
		if !etagMatches(im, etag) {
			return http.StatusPreconditionFailed
		}
	} else if ius != "" {
		if t, err := http.ParseTime(ius); err == nil && mod.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	notModified := http.StatusNotModified
	if prefix != "" {
		notModified = http.StatusPreconditionFailed
	}
	if inm != "" {
		if etagMatches(inm, etag) {
			return notModified
		}
	} else if ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !mod.After(t) {
			return notModified
		}
	}
	return 0
}

func conditionName(r *http.Request) string {
	for _, n := range []string{"If-Match", "If-Unmodified-Since", "If-None-Match", "If-Modified-Since"} {
		if r.Header.Get(n) != "" {
			return n
		}
	}
	return ""
}

// etagMatches reports whether a list of entity tags ("*" included) names
// etag.
func etagMatches(list, etag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		t = strings.TrimPrefix(t, "W/")
		if t == "*" || strings.Trim(t, `"`) == etag {
			return true
		}
	}
	return false
}

func (h *Handler) deleteObject(q *request) error {
	if err := h.cfg.Store.DeleteObject(q.ctx, q.bucket, q.key); err != nil {
		return err
	}
	noContent(q.x)
	return nil
}

// partRange is the byte range of part number pn of o, as GetObject and
// HeadObject read it with partNumber: the whole object is part 1 of an
// object not uploaded in parts.
func partRange(o artifacts.Object, pn string) (first, last int64, err error) {
	n, cerr := strconv.Atoi(pn)
	if cerr != nil || n < 1 || n > 10000 {
		return 0, 0, invalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", pn)
	}
	sizes := o.PartSizes
	if o.Parts() == 0 {
		sizes = []int64{o.Size}
	}
	if n > len(sizes) {
		return 0, 0, newErr(http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "The requested partnumber is not satisfiable").
			with("PartNumberRequested", pn).with("ActualPartCount", strconv.Itoa(max(o.Parts(), 1)))
	}
	for _, sz := range sizes[:n-1] {
		first += sz
	}
	return first, first + sizes[n-1] - 1, nil
}
