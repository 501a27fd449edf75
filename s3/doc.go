// Package s3 serves pipewright's artifact store over Amazon S3's REST-XML
// protocol: the subset of S3 that the aws CLI's s3 commands, boto3's
// transfer manager, aws-sdk-go-v2's s3 client and AWS's CodeDeploy agent
// use (buckets, objects, listings, copies, multipart uploads, tagging,
// checksums and presigned URLs).
//
// A [Handler] takes every request the root router does not send to the
// awsJson services. It verifies SigV4 with the signing name "s3" as the
// body streams (sigv4.VerifyStream), so a body whose hash, chunk signature
// or trailer does not match is never stored; it addresses buckets by path
// ("/bucket/key") or by virtual host ("bucket.HOST" for a configured HOST);
// and it answers S3's XML documents, error documents (Code, Message,
// RequestId, with x-amz-request-id) and statuses. Operations it does not
// serve answer NotImplemented.
package s3
