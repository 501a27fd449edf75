package s3

import "net/http"

// operation serves one S3 operation; an error it returns is answered by
// Handler.fail.
type operation func(h *Handler, q *request) error

// unsupported are the subresources of buckets and objects pipewright does
// not serve: a request naming one answers NotImplemented, never an
// operation it did not ask for.
var unsupported = []string{
	"accelerate", "acl", "analytics", "cors", "encryption", "intelligent-tiering", "inventory",
	"lifecycle", "logging", "metrics", "notification", "object-lock", "ownershipControls", "policy",
	"policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore", "retention",
	"legal-hold", "select", "torrent", "versioning", "versions", "website", "session", "metadataTable",
	"renameObject",
}

// route names the operation q asks for and the function serving it.
func route(q *request) (string, operation) {
	for _, sub := range unsupported {
		if q.has(sub) {
			return "NotImplemented", func(h *Handler, q *request) error {
				return notImplemented("the ?" + sub + " subresource")
			}
		}
	}
	m := q.Method
	switch {
	case q.bucket == "":
		if m == http.MethodGet {
			return "ListBuckets", (*Handler).listBuckets
		}
	case q.key == "":
		switch m {
		case http.MethodPut:
			if q.has("tagging") {
				return "PutBucketTagging", unsupportedOp("PutBucketTagging")
			}
			return "CreateBucket", (*Handler).createBucket
		case http.MethodHead:
			return "HeadBucket", (*Handler).headBucket
		case http.MethodDelete:
			if q.has("tagging") {
				return "DeleteBucketTagging", unsupportedOp("DeleteBucketTagging")
			}
			return "DeleteBucket", (*Handler).deleteBucket
		case http.MethodGet:
			switch {
			case q.has("location"):
				return "GetBucketLocation", (*Handler).getBucketLocation
			case q.has("uploads"):
				return "ListMultipartUploads", (*Handler).listUploads
			case q.has("tagging"):
				return "GetBucketTagging", unsupportedOp("GetBucketTagging")
			case q.param("list-type") == "2":
				return "ListObjectsV2", (*Handler).listObjectsV2
			}
			return "ListObjects", (*Handler).listObjects
		case http.MethodPost:
			if q.has("delete") {
				return "DeleteObjects", (*Handler).deleteObjects
			}
		}
	default:
		switch m {
		case http.MethodPut:
			switch {
			case q.has("uploadId") || q.has("partNumber"):
				if q.Header.Get("X-Amz-Copy-Source") != "" {
					return "UploadPartCopy", (*Handler).uploadPartCopy
				}
				return "UploadPart", (*Handler).uploadPart
			case q.has("tagging"):
				return "PutObjectTagging", (*Handler).putObjectTagging
			case q.Header.Get("X-Amz-Copy-Source") != "":
				return "CopyObject", (*Handler).copyObject
			}
			return "PutObject", (*Handler).putObject
		case http.MethodGet:
			switch {
			case q.has("uploadId"):
				return "ListParts", (*Handler).listParts
			case q.has("tagging"):
				return "GetObjectTagging", (*Handler).getObjectTagging
			case q.has("attributes"):
				return "GetObjectAttributes", (*Handler).getObjectAttributes
			}
			return "GetObject", (*Handler).getObject
		case http.MethodHead:
			return "HeadObject", (*Handler).headObject
		case http.MethodDelete:
			switch {
			case q.has("uploadId"):
				return "AbortMultipartUpload", (*Handler).abortUpload
			case q.has("tagging"):
				return "DeleteObjectTagging", (*Handler).deleteObjectTagging
			}
			return "DeleteObject", (*Handler).deleteObject
		case http.MethodPost:
			switch {
			case q.has("uploads"):
				return "CreateMultipartUpload", (*Handler).createUpload
			case q.has("uploadId"):
				return "CompleteMultipartUpload", (*Handler).completeUpload
			}
		}
	}
	return "MethodNotAllowed", func(h *Handler, q *request) error {
		return errMethodNotAllowed.with("Method", q.Method).with("ResourceType", resourceType(q))
	}
}

func unsupportedOp(name string) operation {
	return func(h *Handler, q *request) error { return notImplemented(name) }
}

func resourceType(q *request) string {
	switch {
	case q.bucket == "":
		return "SERVICE"
	case q.key == "":
		return "BUCKET"
	}
	return "OBJECT"
}
