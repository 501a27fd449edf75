package s3

import (
	"encoding/xml"
	"net/url"
	"strings"

	"github.com/pipewright/pipewright/artifacts"
)

// copySource reads x-amz-copy-source: "bucket/key" or "/bucket/key",
// URL-encoded, without a versionId (pipewright keeps no versions).
func copySource(q *request) (bucket, key string, err error) {
	raw := q.Header.Get("X-Amz-Copy-Source")
	src, version, _ := strings.Cut(raw, "?")
	if version != "" && !strings.HasPrefix(version, "versionId=null") {
		return "", "", invalidArgument("Invalid version id specified", "x-amz-copy-source", raw)
	}
	dec, uerr := url.PathUnescape(src)
	if uerr != nil {
		return "", "", invalidArgument("Invalid copy source encoding", "x-amz-copy-source", raw)
	}
	dec = strings.TrimPrefix(dec, "/")
	bucket, key, ok := strings.Cut(dec, "/")
	if !ok || bucket == "" || key == "" {
		return "", "", invalidArgument("Copy Source must mention the source bucket and key: sourcebucket/sourcekey", "x-amz-copy-source", raw)
	}
	return bucket, key, nil
}

type copyObjectResult struct {
	XMLName        xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyObjectResult"`
	ETag           string   `xml:"ETag"`
	LastModified   string   `xml:"LastModified"`
	ChecksumType   string   `xml:"ChecksumType,omitempty"`
	ChecksumCRC32  string   `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C string   `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64  string   `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1   string   `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256 string   `xml:"ChecksumSHA256,omitempty"`
}

// copySourceObject is the object x-amz-copy-source names, once it meets
// the request's x-amz-copy-source-if-* conditions.
func (h *Handler) copySourceObject(q *request) (bucket, key string, src artifacts.Object, err error) {
	if bucket, key, err = copySource(q); err != nil {
		return
	}
	if src, err = h.cfg.Store.HeadObject(q.ctx, bucket, key); err != nil {
		return bucket, key, src, storeError(err, bucket, key)
	}
	if checkConditions(q.Request, src, "X-Amz-Copy-Source-") != 0 {
		err = errPrecondition
	}
	return
}

func (h *Handler) copyObject(q *request) error {
	sb, sk, _, err := h.copySourceObject(q)
	if err != nil {
		return err
	}
	directive := strings.ToUpper(q.Header.Get("X-Amz-Metadata-Directive"))
	if directive != "" && directive != "COPY" && directive != "REPLACE" {
		return invalidArgument("Unknown metadata directive.", "x-amz-metadata-directive", directive)
	}
	tagging := strings.ToUpper(q.Header.Get("X-Amz-Tagging-Directive"))
	if tagging != "" && tagging != "COPY" && tagging != "REPLACE" {
		return invalidArgument("Unknown tagging directive.", "x-amz-tagging-directive", tagging)
	}
	if sb == q.bucket && sk == q.key && directive != "REPLACE" {
		return invalidRequest("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
	}
	opt := artifacts.CopyOptions{ReplaceMetadata: directive == "REPLACE", TaggingReplace: tagging == "REPLACE"}
	if opt.ReplaceMetadata || opt.TaggingReplace {
		put, err := putOptions(q)
		if err != nil {
			return err
		}
		put.Checksum, put.ContentMD5 = nil, ""
		opt.Put = put
	}
	cond, err := writeConditions(q)
	if err != nil {
		return err
	}
	opt.Put.IfNoneMatch, opt.Put.IfMatch = cond.IfNoneMatch, cond.IfMatch
	if alg := strings.ToUpper(q.Header.Get("X-Amz-Checksum-Algorithm")); alg != "" {
		if !isAlgorithm(alg) {
			return invalidRequest("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
		}
		opt.Put.ChecksumAlgorithm = alg
	}
	o, err := h.cfg.Store.CopyObject(q.ctx, sb, sk, q.bucket, q.key, opt)
	if err != nil {
		return err
	}
	out := copyObjectResult{ETag: `"` + etagOf(o) + `"`, LastModified: isoTime(o.Modified)}
	setResultChecksum(o.ChecksumAlgorithm, o.Checksum, &out.ChecksumCRC32, &out.ChecksumCRC32C, &out.ChecksumCRC64, &out.ChecksumSHA1, &out.ChecksumSHA256)
	if out.ChecksumCRC32+out.ChecksumCRC32C+out.ChecksumCRC64+out.ChecksumSHA1+out.ChecksumSHA256 != "" {
		out.ChecksumType = o.ChecksumType
	}
	return writeXML(q.x, out)
}

// setResultChecksum puts value into the member of its algorithm.
func setResultChecksum(alg, value string, crc32, crc32c, crc64, sha1, sha256 *string) {
	switch alg {
	case "CRC32":
		*crc32 = value
	case "CRC32C":
		*crc32c = value
	case "CRC64NVME":
		*crc64 = value
	case "SHA1":
		*sha1 = value
	case "SHA256":
		*sha256 = value
	}
}

type deleteRequest struct {
	Quiet   bool `xml:"Quiet"`
	Objects []struct {
		Key       string `xml:"Key"`
		VersionID string `xml:"VersionId"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ DeleteResult"`
	Deleted []deletedItem  `xml:"Deleted"`
	Errors  []deleteFailed `xml:"Error"`
}

type deletedItem struct {
	Key string `xml:"Key"`
}

type deleteFailed struct {
	Key     string `xml:"Key"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (h *Handler) deleteObjects(q *request) error {
	var req deleteRequest
	if err := readXML(q, &req); err != nil {
		return err
	}
	if len(req.Objects) == 0 || len(req.Objects) > 1000 {
		return errMalformedXML
	}
	if _, err := h.cfg.Store.HeadBucket(q.ctx, q.bucket); err != nil {
		return err
	}
	out := deleteResult{}
	for _, o := range req.Objects {
		err := h.cfg.Store.DeleteObject(q.ctx, q.bucket, o.Key)
		if err == nil {
			if !req.Quiet {
				out.Deleted = append(out.Deleted, deletedItem{Key: o.Key})
			}
			continue
		}
		e := storeError(err, q.bucket, o.Key)
		if e == nil {
			h.cfg.Log.Error("s3 delete", "err", err, "requestId", q.x.id)
			e = errInternal
		}
		out.Errors = append(out.Errors, deleteFailed{Key: o.Key, Code: e.Code, Message: e.Message})
	}
	return writeXML(q.x, out)
}
