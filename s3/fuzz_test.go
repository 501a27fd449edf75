package s3

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/pipewright/pipewright/sigv4"
)

// FuzzXMLDecoders feeds arbitrary bodies to the decoders of the XML
// documents clients send (DeleteObjects, CompleteMultipartUpload,
// PutObjectTagging, CreateBucket): each either decodes or answers
// MalformedXML, never panics, and never reads past its bound.
func FuzzXMLDecoders(f *testing.F) {
	f.Add([]byte(`<Delete><Object><Key>a</Key></Object><Quiet>true</Quiet></Delete>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`))
	f.Add([]byte(`<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Delete>&a;</Delete>`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&deleteRequest{}, &completeRequest{}, &tagging{}, &createBucketConfiguration{}} {
			r := httptest.NewRequest("POST", "/b?delete", bytes.NewReader(body))
			q := &request{Request: r}
			q.payload = sigv4.PlainPayload(r)
			err := readXML(q, v)
			if err != nil && err != errMalformedXML {
				t.Fatalf("readXML(%T) = %v, want nil or MalformedXML", v, err)
			}
			if len(bytes.TrimSpace(body)) == 0 && err == nil {
				t.Fatalf("an empty body decoded into %T", v)
			}
		}
	})
}
