package s3

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SigV2 presigned URLs (AWSAccessKeyId, Expires, Signature in the query)
// are what the aws CLI v1's `aws s3 presign` makes by default; S3 still
// accepts them, so pipewright does too. Nothing else is accepted with
// SigV2.

// isV2Presigned reports whether r is authenticated by a SigV2 query.
func isV2Presigned(r *http.Request, query url.Values) bool {
	_, auth := r.Header["Authorization"]
	return !auth && query.Has("AWSAccessKeyId") && query.Has("Signature") && query.Has("Expires") && !query.Has("X-Amz-Algorithm")
}

// v2Subresources are the query parameters SigV2's canonical resource
// includes.
var v2Subresources = []string{
	"acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy",
	"requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires", "restore", "tagging", "torrent",
	"uploadId", "uploads", "versionId", "versioning", "versions", "website",
}

// verifyV2Query checks a SigV2 presigned URL and returns the access key
// that signed it.
func (h *Handler) verifyV2Query(r *http.Request, query url.Values, bucket string, virtual bool) (string, *Error) {
	akid, sig, expires := query.Get("AWSAccessKeyId"), query.Get("Signature"), query.Get("Expires")
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return "", newErr(http.StatusForbidden, "AccessDenied", "Invalid date (should be seconds since epoch): "+expires)
	}
	if h.cfg.Now().Unix() > exp {
		return "", newErr(http.StatusForbidden, "AccessDenied", "Request has expired")
	}
	secret, ok := "", false
	if h.cfg.Verifier.Lookup != nil {
		secret, ok = h.cfg.Verifier.Lookup(akid)
	}
	if !ok {
		return "", newErr(http.StatusForbidden, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
	}
	var sts strings.Builder
	sts.WriteString(r.Method + "\n" + r.Header.Get("Content-Md5") + "\n" + r.Header.Get("Content-Type") + "\n" + expires + "\n")
	var amz []string
	for name, vs := range r.Header {
		if n := strings.ToLower(name); strings.HasPrefix(n, "x-amz-") {
			amz = append(amz, n+":"+strings.Join(vs, ","))
		}
	}
	slices.Sort(amz)
	for _, a := range amz {
		sts.WriteString(a + "\n")
	}
	path, _, _ := strings.Cut(r.RequestURI, "?")
	if virtual {
		path = "/" + bucket + path
	}
	sts.WriteString(path)
	sep := "?"
	for _, sub := range v2Subresources {
		if !query.Has(sub) {
			continue
		}
		sts.WriteString(sep + sub)
		if v := query.Get(sub); v != "" {
			sts.WriteString("=" + v)
		}
		sep = "&"
	}
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(sts.String()))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "", newErr(http.StatusForbidden, "SignatureDoesNotMatch",
			"The request signature we calculated does not match the signature you provided. Check your key and signing method.").
			with("AWSAccessKeyId", akid).with("StringToSign", sts.String())
	}
	return akid, nil
}
