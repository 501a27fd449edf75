package sigv4

import (
	"io"
	"net/http"
)

// PlainPayload is the payload of a request whose body no signature covers
// (S3's SigV2 presigned URLs): r's body as sent, of r's Content-Length.
func PlainPayload(r *http.Request) *Payload {
	var body io.Reader = r.Body
	if r.Body == nil {
		body = http.NoBody
	}
	return &Payload{body: body, size: r.ContentLength}
}
