package s3

import (
	"encoding/xml"
	"net/http"
	"unicode/utf8"

	"github.com/pipewright/pipewright/artifacts"
)

type tagging struct {
	XMLName xml.Name  `xml:"Tagging"`
	TagSet  []tagItem `xml:"TagSet>Tag"`
}

type taggingResult struct {
	XMLName xml.Name  `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Tagging"`
	TagSet  []tagItem `xml:"TagSet>Tag"`
}

type tagItem struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// checkTags applies S3's object tag limits: at most 10 tags, keys of 1 to
// 128 and values of at most 256 characters, keys unique.
func checkTags(tags []artifacts.Tag) error {
	if len(tags) > 10 {
		return newErr(http.StatusBadRequest, "BadRequest", "Object tags cannot be greater than 10")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > 128:
			return newErr(http.StatusBadRequest, "InvalidTag", "The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Value) > 256:
			return errInvalidTag
		case seen[t.Key]:
			return newErr(http.StatusBadRequest, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}

func (h *Handler) putObjectTagging(q *request) error {
	var in tagging
	if err := readXML(q, &in); err != nil {
		return err
	}
	tags := make([]artifacts.Tag, 0, len(in.TagSet))
	for _, t := range in.TagSet {
		tags = append(tags, artifacts.Tag{Key: t.Key, Value: t.Value})
	}
	if err := checkTags(tags); err != nil {
		return err
	}
	if err := h.cfg.Store.PutTags(q.ctx, q.bucket, q.key, tags); err != nil {
		return err
	}
	q.x.Header().Set("Content-Length", "0")
	q.x.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getObjectTagging(q *request) error {
	tags, err := h.cfg.Store.Tags(q.ctx, q.bucket, q.key)
	if err != nil {
		return err
	}
	out := taggingResult{TagSet: []tagItem{}}
	for _, t := range tags {
		out.TagSet = append(out.TagSet, tagItem{Key: t.Key, Value: t.Value})
	}
	return writeXML(q.x, out)
}

func (h *Handler) deleteObjectTagging(q *request) error {
	if err := h.cfg.Store.DeleteTags(q.ctx, q.bucket, q.key); err != nil {
		return err
	}
	noContent(q.x)
	return nil
}
