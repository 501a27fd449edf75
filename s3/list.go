package s3

import (
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
)

type listV2Result struct {
	XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Delimiter             string         `xml:"Delimiter,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	IsTruncated           bool           `xml:"IsTruncated"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	Contents              []objectItem   `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

type listV1Result struct {
	XMLName        xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	Delimiter      string         `xml:"Delimiter,omitempty"`
	MaxKeys        int            `xml:"MaxKeys"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	Contents       []objectItem   `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

type objectItem struct {
	Key               string `xml:"Key"`
	LastModified      string `xml:"LastModified"`
	ETag              string `xml:"ETag"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
	Size              int64  `xml:"Size"`
	Owner             *owner `xml:"Owner,omitempty"`
	StorageClass      string `xml:"StorageClass"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

// listing is what both ListObjects versions read from the query.
type listing struct {
	prefix, delimiter, encoding string
	max                         int
	encode                      func(string) string
}

func (h *Handler) readListing(q *request, maxName string) (listing, error) {
	l := listing{prefix: q.param("prefix"), delimiter: q.param("delimiter"), encoding: q.param("encoding-type"), max: 1000}
	if s := q.param(maxName); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return l, invalidArgument("Provided max-keys not an integer or within integer range", maxName, s)
		}
		l.max = min(n, 1000)
	}
	switch l.encoding {
	case "":
		l.encode = func(s string) string { return s }
	case "url":
		l.encode = urlEncode
	default:
		return l, invalidArgument("Invalid Encoding Method specified in Request", "encoding-type", l.encoding)
	}
	if _, err := h.cfg.Store.HeadBucket(q.ctx, q.bucket); err != nil {
		return l, err
	}
	return l, nil
}

// urlEncode is S3's encoding-type=url: what botocore decodes with
// unquote_plus ('/' kept readable).
func urlEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

func (h *Handler) list(q *request, l listing, after string) (artifacts.Listing, []objectItem, []commonPrefix, error) {
	var res artifacts.Listing
	if l.max > 0 {
		var err error
		res, err = h.cfg.Store.List(q.ctx, q.bucket, artifacts.ListOptions{Prefix: l.prefix, Delimiter: l.delimiter, After: after, Max: l.max})
		if err != nil {
			return res, nil, nil, err
		}
	}
	items := make([]objectItem, 0, len(res.Objects))
	for _, o := range res.Objects {
		items = append(items, objectItem{Key: l.encode(o.Key), LastModified: isoTime(o.Modified), ETag: `"` + etagOf(o) + `"`,
			ChecksumAlgorithm: o.ChecksumAlgorithm, ChecksumType: o.ChecksumType, Size: o.Size, StorageClass: "STANDARD"})
	}
	prefixes := make([]commonPrefix, 0, len(res.CommonPrefixes))
	for _, p := range res.CommonPrefixes {
		prefixes = append(prefixes, commonPrefix{Prefix: l.encode(p)})
	}
	return res, items, prefixes, nil
}

func (h *Handler) listObjectsV2(q *request) error {
	l, err := h.readListing(q, "max-keys")
	if err != nil {
		return err
	}
	after := q.param("start-after")
	token := q.param("continuation-token")
	if q.has("continuation-token") {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || token == "" {
			return invalidArgument("The continuation token provided is incorrect", "continuation-token", token)
		}
		after = max(after, string(raw))
	}
	res, items, prefixes, err := h.list(q, l, after)
	if err != nil {
		return err
	}
	out := listV2Result{Name: q.bucket, Prefix: l.encode(l.prefix), Delimiter: l.encode(l.delimiter), MaxKeys: l.max,
		EncodingType: l.encoding, KeyCount: len(items) + len(prefixes), IsTruncated: res.Truncated,
		ContinuationToken: token, StartAfter: l.encode(q.param("start-after")), Contents: items, CommonPrefixes: prefixes}
	if res.Truncated {
		out.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(res.Next))
	}
	return writeXML(q.x, out)
}

func (h *Handler) listObjects(q *request) error {
	l, err := h.readListing(q, "max-keys")
	if err != nil {
		return err
	}
	marker := q.param("marker")
	res, items, prefixes, err := h.list(q, l, marker)
	if err != nil {
		return err
	}
	for i := range items {
		items[i].Owner = &h.owner
	}
	out := listV1Result{Name: q.bucket, Prefix: l.encode(l.prefix), Marker: l.encode(marker), Delimiter: l.encode(l.delimiter),
		MaxKeys: l.max, EncodingType: l.encoding, IsTruncated: res.Truncated, Contents: items, CommonPrefixes: prefixes}
	if res.Truncated && l.delimiter != "" {
		out.NextMarker = l.encode(res.Next)
	}
	return writeXML(q.x, out)
}
