package s3

import (
	"encoding/xml"
	"net/http"
	"strconv"

	"github.com/pipewright/pipewright/artifacts"
)

type initiateResult struct {
	XMLName  xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ InitiateMultipartUploadResult"`
	Bucket   string   `xml:"Bucket"`
	Key      string   `xml:"Key"`
	UploadID string   `xml:"UploadId"`
}

func (h *Handler) createUpload(q *request) error {
	opt, err := putOptions(q)
	if err != nil {
		return err
	}
	opt.Checksum, opt.ContentMD5 = nil, ""
	up, err := h.cfg.Store.CreateUpload(q.ctx, q.bucket, q.key, opt)
	if err != nil {
		return err
	}
	if up.ChecksumAlgorithm != "" {
		q.x.Header().Set("X-Amz-Checksum-Algorithm", up.ChecksumAlgorithm)
		if up.ChecksumType != "" {
			q.x.Header().Set("X-Amz-Checksum-Type", up.ChecksumType)
		}
	}
	return writeXML(q.x, initiateResult{Bucket: q.bucket, Key: q.key, UploadID: up.ID})
}

// partNumber reads the partNumber parameter: 1 to 10000.
func partNumber(q *request) (int, error) {
	s := q.param("partNumber")
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 10000 {
		return 0, invalidArgument("Part number must be an integer between 1 and 10000, inclusive", "partNumber", s)
	}
	return n, nil
}

func (h *Handler) uploadPart(q *request) error {
	n, err := partNumber(q)
	if err != nil {
		return err
	}
	if err := checkLength(q); err != nil {
		return err
	}
	opt, err := putOptions(q)
	if err != nil {
		return err
	}
	uploadID := q.param("uploadId")
	p, err := h.cfg.Store.UploadPart(q.ctx, q.bucket, q.key, uploadID, n, h.bodyOf(q), opt)
	if err != nil {
		return uploadError(err, uploadID)
	}
	q.x.Header().Set("ETag", `"`+p.ETag+`"`)
	setChecksumHeader(q.x, opt.ChecksumAlgorithm, p.Checksum, "")
	q.x.Header().Set("Content-Length", "0")
	q.x.WriteHeader(http.StatusOK)
	return nil
}

// uploadError names the upload in NoSuchUpload.
func uploadError(err error, uploadID string) error {
	if e := storeError(err, "", ""); e != nil && e.Code == "NoSuchUpload" {
		return errNoSuchUpload.with("UploadId", uploadID)
	}
	return err
}

type copyPartResult struct {
	XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CopyPartResult"`
	ETag         string   `xml:"ETag"`
	LastModified string   `xml:"LastModified"`
}

func (h *Handler) uploadPartCopy(q *request) error {
	n, err := partNumber(q)
	if err != nil {
		return err
	}
	sb, sk, src, err := h.copySourceObject(q)
	if err != nil {
		return err
	}
	first, last := int64(0), int64(-1)
	if rv := q.Header.Get("X-Amz-Copy-Source-Range"); rv != "" {
		f, l, ok, rerr := parseRange(rv, src.Size)
		if rerr != nil || !ok {
			return invalidArgument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy", "x-amz-copy-source-range", rv)
		}
		first, last = f, l
	}
	if n := last - first + 1; last < 0 && src.Size-first > maxObjectSize || last >= 0 && n > maxObjectSize {
		return invalidArgument("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120", "x-amz-copy-source-range", q.Header.Get("X-Amz-Copy-Source-Range"))
	}
	uploadID := q.param("uploadId")
	p, err := h.cfg.Store.UploadPartCopy(q.ctx, q.bucket, q.key, uploadID, n, sb, sk, first, last)
	if err != nil {
		return uploadError(err, uploadID)
	}
	return writeXML(q.x, copyPartResult{ETag: `"` + p.ETag + `"`, LastModified: isoTime(p.Modified)})
}

type completeRequest struct {
	Parts []struct {
		PartNumber        int    `xml:"PartNumber"`
		ETag              string `xml:"ETag"`
		ChecksumCRC32     string `xml:"ChecksumCRC32"`
		ChecksumCRC32C    string `xml:"ChecksumCRC32C"`
		ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME"`
		ChecksumSHA1      string `xml:"ChecksumSHA1"`
		ChecksumSHA256    string `xml:"ChecksumSHA256"`
	} `xml:"Part"`
}

type completeResult struct {
	XMLName        xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ CompleteMultipartUploadResult"`
	Location       string   `xml:"Location"`
	Bucket         string   `xml:"Bucket"`
	Key            string   `xml:"Key"`
	ETag           string   `xml:"ETag"`
	ChecksumCRC32  string   `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C string   `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64  string   `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1   string   `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256 string   `xml:"ChecksumSHA256,omitempty"`
	ChecksumType   string   `xml:"ChecksumType,omitempty"`
}

func (h *Handler) completeUpload(q *request) error {
	var req completeRequest
	if err := readXML(q, &req); err != nil {
		return err
	}
	if len(req.Parts) == 0 {
		return newErr(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	parts := make([]artifacts.CompletedPart, 0, len(req.Parts))
	for _, p := range req.Parts {
		sum := p.ChecksumCRC32 + p.ChecksumCRC32C + p.ChecksumCRC64NVME + p.ChecksumSHA1 + p.ChecksumSHA256
		parts = append(parts, artifacts.CompletedPart{Number: p.PartNumber, ETag: p.ETag, Checksum: sum})
	}
	cond, err := writeConditions(q)
	if err != nil {
		return err
	}
	uploadID := q.param("uploadId")
	o, err := h.cfg.Store.CompleteUploadIf(q.ctx, q.bucket, q.key, uploadID, parts, cond)
	if err != nil {
		return uploadError(err, uploadID)
	}
	out := completeResult{Location: "/" + q.bucket + "/" + q.key, Bucket: q.bucket, Key: q.key, ETag: `"` + etagOf(o) + `"`}
	setResultChecksum(o.ChecksumAlgorithm, o.Checksum, &out.ChecksumCRC32, &out.ChecksumCRC32C, &out.ChecksumCRC64, &out.ChecksumSHA1, &out.ChecksumSHA256)
	if o.Checksum != "" {
		out.ChecksumType = o.ChecksumType
	}
	return writeXML(q.x, out)
}

func (h *Handler) abortUpload(q *request) error {
	uploadID := q.param("uploadId")
	if err := h.cfg.Store.AbortUpload(q.ctx, q.bucket, q.key, uploadID); err != nil {
		return uploadError(err, uploadID)
	}
	noContent(q.x)
	return nil
}

type listPartsResult struct {
	XMLName              xml.Name   `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListPartsResult"`
	Bucket               string     `xml:"Bucket"`
	Key                  string     `xml:"Key"`
	UploadID             string     `xml:"UploadId"`
	PartNumberMarker     int        `xml:"PartNumberMarker"`
	NextPartNumberMarker int        `xml:"NextPartNumberMarker"`
	MaxParts             int        `xml:"MaxParts"`
	IsTruncated          bool       `xml:"IsTruncated"`
	Parts                []partItem `xml:"Part"`
	Initiator            owner      `xml:"Initiator"`
	Owner                owner      `xml:"Owner"`
	StorageClass         string     `xml:"StorageClass"`
	ChecksumAlgorithm    string     `xml:"ChecksumAlgorithm,omitempty"`
}

type partItem struct {
	PartNumber     int    `xml:"PartNumber"`
	LastModified   string `xml:"LastModified"`
	ETag           string `xml:"ETag"`
	Size           int64  `xml:"Size"`
	ChecksumCRC32  string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64  string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1   string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256 string `xml:"ChecksumSHA256,omitempty"`
}

// intParam reads an optional non-negative integer parameter.
func intParam(q *request, name string, def int) (int, error) {
	s := q.param(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, invalidArgument("Provided "+name+" not an integer or within integer range", name, s)
	}
	return n, nil
}

func (h *Handler) listParts(q *request) error {
	after, err := intParam(q, "part-number-marker", 0)
	if err != nil {
		return err
	}
	maxParts, err := intParam(q, "max-parts", 1000)
	if err != nil {
		return err
	}
	maxParts = min(maxParts, 1000)
	uploadID := q.param("uploadId")
	up, err := h.cfg.Store.Upload(q.ctx, q.bucket, q.key, uploadID)
	if err != nil {
		return uploadError(err, uploadID)
	}
	parts, truncated, err := h.cfg.Store.ListParts(q.ctx, q.bucket, q.key, uploadID, after, maxParts)
	if err != nil {
		return uploadError(err, uploadID)
	}
	out := listPartsResult{Bucket: q.bucket, Key: q.key, UploadID: uploadID, PartNumberMarker: after, MaxParts: maxParts,
		IsTruncated: truncated, Parts: []partItem{}, Initiator: h.owner, Owner: h.owner, StorageClass: "STANDARD",
		ChecksumAlgorithm: up.ChecksumAlgorithm}
	for _, p := range parts {
		it := partItem{PartNumber: p.Number, LastModified: isoTime(p.Modified), ETag: `"` + p.ETag + `"`, Size: p.Size}
		setResultChecksum(up.ChecksumAlgorithm, p.Checksum, &it.ChecksumCRC32, &it.ChecksumCRC32C, &it.ChecksumCRC64, &it.ChecksumSHA1, &it.ChecksumSHA256)
		out.Parts = append(out.Parts, it)
		out.NextPartNumberMarker = p.Number
	}
	return writeXML(q.x, out)
}

type listUploadsResult struct {
	XMLName            xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListMultipartUploadsResult"`
	Bucket             string       `xml:"Bucket"`
	KeyMarker          string       `xml:"KeyMarker"`
	UploadIDMarker     string       `xml:"UploadIdMarker"`
	NextKeyMarker      string       `xml:"NextKeyMarker"`
	NextUploadIDMarker string       `xml:"NextUploadIdMarker"`
	Prefix             string       `xml:"Prefix,omitempty"`
	MaxUploads         int          `xml:"MaxUploads"`
	IsTruncated        bool         `xml:"IsTruncated"`
	Uploads            []uploadItem `xml:"Upload"`
}

type uploadItem struct {
	Key               string `xml:"Key"`
	UploadID          string `xml:"UploadId"`
	Initiator         owner  `xml:"Initiator"`
	Owner             owner  `xml:"Owner"`
	StorageClass      string `xml:"StorageClass"`
	Initiated         string `xml:"Initiated"`
	ChecksumAlgorithm string `xml:"ChecksumAlgorithm,omitempty"`
}

func (h *Handler) listUploads(q *request) error {
	maxUploads, err := intParam(q, "max-uploads", 1000)
	if err != nil {
		return err
	}
	maxUploads = min(maxUploads, 1000)
	if _, err := h.cfg.Store.HeadBucket(q.ctx, q.bucket); err != nil {
		return err
	}
	keyMarker, idMarker := q.param("key-marker"), q.param("upload-id-marker")
	ups, truncated, err := h.cfg.Store.ListUploads(q.ctx, q.bucket, q.param("prefix"), keyMarker, idMarker, maxUploads)
	if err != nil {
		return err
	}
	out := listUploadsResult{Bucket: q.bucket, KeyMarker: keyMarker, UploadIDMarker: idMarker, Prefix: q.param("prefix"),
		MaxUploads: maxUploads, IsTruncated: truncated, Uploads: []uploadItem{}}
	for _, u := range ups {
		out.Uploads = append(out.Uploads, uploadItem{Key: u.Key, UploadID: u.ID, Initiator: h.owner, Owner: h.owner,
			StorageClass: "STANDARD", Initiated: isoTime(u.Initiated), ChecksumAlgorithm: u.ChecksumAlgorithm})
		out.NextKeyMarker, out.NextUploadIDMarker = u.Key, u.ID
	}
	return writeXML(q.x, out)
}
