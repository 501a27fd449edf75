package s3

import (
	"encoding/xml"
	"strings"
)

type attributesResult struct {
	XMLName      xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ GetObjectAttributesResponse"`
	ETag         string          `xml:"ETag,omitempty"`
	Checksum     *checksumResult `xml:"Checksum,omitempty"`
	ObjectParts  *partsResult    `xml:"ObjectParts,omitempty"`
	StorageClass string          `xml:"StorageClass,omitempty"`
	ObjectSize   *int64          `xml:"ObjectSize,omitempty"`
}

type checksumResult struct {
	ChecksumCRC32     string `xml:"ChecksumCRC32,omitempty"`
	ChecksumCRC32C    string `xml:"ChecksumCRC32C,omitempty"`
	ChecksumCRC64NVME string `xml:"ChecksumCRC64NVME,omitempty"`
	ChecksumSHA1      string `xml:"ChecksumSHA1,omitempty"`
	ChecksumSHA256    string `xml:"ChecksumSHA256,omitempty"`
	ChecksumType      string `xml:"ChecksumType,omitempty"`
}

type partsResult struct {
	TotalPartsCount int `xml:"TotalPartsCount"`
}

// getObjectAttributes answers the attributes x-amz-object-attributes
// names: ETag, Checksum, ObjectParts, StorageClass, ObjectSize.
func (h *Handler) getObjectAttributes(q *request) error {
	want := map[string]bool{}
	for _, v := range q.Header.Values("X-Amz-Object-Attributes") {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				want[a] = true
			}
		}
	}
	if len(want) == 0 {
		return invalidArgument("Invalid attribute name specified.", "x-amz-object-attributes", "")
	}
	for a := range want {
		switch a {
		case "ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize":
		default:
			return invalidArgument("Invalid attribute name specified.", "x-amz-object-attributes", a)
		}
	}
	o, err := h.cfg.Store.HeadObject(q.ctx, q.bucket, q.key)
	if err != nil {
		return err
	}
	var out attributesResult
	if want["ETag"] {
		out.ETag = etagOf(o)
	}
	if want["Checksum"] && o.Checksum != "" {
		c := &checksumResult{ChecksumType: o.ChecksumType}
		setResultChecksum(o.ChecksumAlgorithm, o.Checksum, &c.ChecksumCRC32, &c.ChecksumCRC32C, &c.ChecksumCRC64NVME, &c.ChecksumSHA1, &c.ChecksumSHA256)
		out.Checksum = c
	}
	if want["ObjectParts"] && o.Parts() > 0 {
		out.ObjectParts = &partsResult{TotalPartsCount: o.Parts()}
	}
	if want["StorageClass"] {
		out.StorageClass = "STANDARD"
	}
	if want["ObjectSize"] {
		n := o.Size
		out.ObjectSize = &n
	}
	q.x.Header().Set("Last-Modified", httpTime(o.Modified))
	return writeXML(q.x, out)
}
