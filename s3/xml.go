package s3

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"time"
)

// ns is S3's XML namespace, on the root element of every answer.
const ns = "http://s3.amazonaws.com/doc/2006-03-01/"

// maxXMLBody bounds the XML documents clients send (DeleteObjects of 1000
// keys of 1024 bytes is about 1.1 MB).
const maxXMLBody = 2 << 20

// owner is the Owner (and Initiator) of every bucket, object and upload:
// the account pipewright answers as.
type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

func ownerOf(account string) owner {
	sum := sha256.Sum256([]byte("pipewright:" + account))
	return owner{ID: hex.EncodeToString(sum[:]), DisplayName: "pipewright"}
}

// isoTime is a timestamp as S3's XML carries it.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// httpTime is a timestamp as S3's headers carry it.
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// writeXML answers v as an XML document with status 200.
func writeXML(w http.ResponseWriter, v any) error {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(v); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(b.Bytes())
	return err
}

// readXML decodes the request's XML document into v: MalformedXML when it
// is not one, or is larger than maxXMLBody; a body that fails its
// signature answers that failure.
func readXML(q *request, v any) error {
	body, err := io.ReadAll(io.LimitReader(q.payload, maxXMLBody+1))
	if err != nil {
		return err
	}
	if len(body) > maxXMLBody || len(bytes.TrimSpace(body)) == 0 {
		return errMalformedXML
	}
	if xml.Unmarshal(body, v) != nil {
		return errMalformedXML
	}
	return nil
}

// noContent answers 204, as S3's deletes do.
func noContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}
