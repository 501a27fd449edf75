package s3

import (
	"encoding/xml"
	"net/http"
)

type listBucketsResult struct {
	XMLName xml.Name     `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
	Owner   owner        `xml:"Owner"`
	Buckets []bucketItem `xml:"Buckets>Bucket"`
}

type bucketItem struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
}

func (h *Handler) listBuckets(q *request) error {
	bs, err := h.cfg.Store.Buckets(q.ctx)
	if err != nil {
		return err
	}
	out := listBucketsResult{Owner: h.owner, Buckets: []bucketItem{}}
	for _, b := range bs {
		out.Buckets = append(out.Buckets, bucketItem{Name: b.Name, CreationDate: isoTime(b.Created)})
	}
	return writeXML(q.x, out)
}

type createBucketConfiguration struct {
	LocationConstraint string `xml:"LocationConstraint"`
}

func (h *Handler) createBucket(q *request) error {
	var conf createBucketConfiguration
	if q.ContentLength != 0 || q.payload.Size() > 0 {
		if err := readXML(q, &conf); err != nil {
			return err
		}
	}
	if lc := conf.LocationConstraint; lc != "" {
		switch {
		case h.cfg.Region == "us-east-1" && lc == "us-east-1":
			return newErr(http.StatusBadRequest, "InvalidLocationConstraint", "The specified location-constraint is not valid").with("LocationConstraint", lc)
		case lc != h.cfg.Region && !(h.cfg.Region == "us-east-1" && lc == "US"):
			return newErr(http.StatusBadRequest, "IllegalLocationConstraintException",
				"The "+lc+" location constraint is incompatible for the region specific endpoint this request was sent to.")
		}
	} else if h.cfg.Region != "us-east-1" {
		return newErr(http.StatusBadRequest, "IllegalLocationConstraintException",
			"The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	}
	if err := h.cfg.Store.CreateBucket(q.ctx, q.bucket); err != nil {
		return err
	}
	q.x.Header().Set("Location", "/"+q.bucket)
	q.x.Header().Set("Content-Length", "0")
	q.x.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) headBucket(q *request) error {
	if _, err := h.cfg.Store.HeadBucket(q.ctx, q.bucket); err != nil {
		return err
	}
	q.x.Header().Set("X-Amz-Bucket-Region", h.cfg.Region)
	q.x.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) deleteBucket(q *request) error {
	if err := h.cfg.Store.DeleteBucket(q.ctx, q.bucket); err != nil {
		return err
	}
	noContent(q.x)
	return nil
}

type locationResult struct {
	XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
	Region  string   `xml:",chardata"`
}

func (h *Handler) getBucketLocation(q *request) error {
	if _, err := h.cfg.Store.HeadBucket(q.ctx, q.bucket); err != nil {
		return err
	}
	region := h.cfg.Region
	if region == "us-east-1" {
		region = ""
	}
	return writeXML(q.x, locationResult{Region: region})
}
