"""The S3 part of scripts/e2e-boto3.py.

Drives pipewright's S3 endpoint with boto3: buckets, objects with metadata,
listings with a delimiter and pages, a copy, tagging, a multipart upload by
hand, errors, and the transfer manager's upload_file/download_file of a
100 MB file (multipart both ways, content compared). Every XML answer is
checked on the raw body the server sent, against botocore's output shape:
each element is a member of the shape (by its serialization name, flattened
lists included), of the member's type (integers, booleans, ISO-8601
timestamps), and error documents carry Code, Message and RequestId with an
x-amz-request-id header.
"""

import hashlib
import os
import re
import xml.etree.ElementTree as ET
from datetime import datetime

import botocore
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _local(tag):
    return tag[len(NS):] if tag.startswith(NS) else tag


def xml_problems(elem, shape, path):
    """Lists how an XML element breaks the botocore shape."""
    t = shape.type_name
    if t == "structure":
        out = []
        names = {}
        for n, m in shape.members.items():
            if m.serialization.get("location") in ("header", "headers", "statusCode"):
                continue
            if m.type_name == "list" and m.serialization.get("flattened"):
                names[m.member.serialization.get("name", m.serialization.get("name", n))] = (n, m.member)
            else:
                names[m.serialization.get("name", n)] = (n, m)
        for child in elem:
            tag = _local(child.tag)
            if tag not in names:
                out.append("%s.%s is not a member of %s" % (path, tag, shape.name))
                continue
            out += xml_problems(child, names[tag][1], path + "." + tag)
        return out
    if t == "list":
        want = shape.member.serialization.get("name", "member")
        out = []
        for i, child in enumerate(elem):
            if _local(child.tag) != want:
                out.append("%s[%d] is <%s>, want <%s>" % (path, i, _local(child.tag), want))
            out += xml_problems(child, shape.member, "%s[%d]" % (path, i))
        return out
    text = elem.text or ""
    if t in ("integer", "long"):
        return [] if re.fullmatch(r"-?[0-9]+", text) else ["%s = %r, want an integer" % (path, text)]
    if t == "boolean":
        return [] if text in ("true", "false") else ["%s = %r, want true or false" % (path, text)]
    if t == "timestamp":
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", text):
            return ["%s = %r, want an ISO-8601 UTC timestamp" % (path, text)]
        return []
    if t == "string" and shape.enum and text not in shape.enum:
        return ["%s = %r is not one of %s" % (path, text, shape.enum)]
    return []


def answer_problems(op, http):
    out = []
    if not re.fullmatch(r"[0-9A-Za-z-]{8,}", http.headers.get("x-amz-request-id", "")):
        out.append("x-amz-request-id %r" % http.headers.get("x-amz-request-id"))
    if op.output_shape is not None and op.output_shape.serialization.get("payload") or op.name in ("GetObject", "HeadObject"):
        return out  # a streamed payload, or headers only
    body = http.content or b""
    if http.status_code >= 300:
        if not body:
            return out if op.name in ("HeadBucket", "HeadObject") else out + ["an error without a body"]
        root = ET.fromstring(body)
        if root.tag != "Error" or root.find("Code") is None or root.find("Message") is None or root.find("RequestId") is None:
            out.append("error document %r" % body[:200])
        return out
    if op.output_shape is None or not body:
        return out
    root = ET.fromstring(body)
    if not root.tag.startswith(NS):
        out.append("root element without S3's namespace")
    return out + xml_problems(root, op.output_shape, op.name)


class S3Caller:
    def __init__(self, client, check):
        self.client, self.check = client, check
        self.model = client.meta.service_model
        self.last = None
        client.meta.events.register("after-call.s3", self._keep)

    def _keep(self, http_response=None, **_):
        self.last = http_response

    def __call__(self, op, error=None, quiet=False, **params):
        self.last = None
        what = "s3 " + op + (" -> " + error if error else "")
        try:
            resp = getattr(self.client, botocore.xform_name(op))(**params)
            code = None
        except ClientError as e:
            resp, code = e.response, e.response["Error"]["Code"]
        problems = [] if self.last is None else answer_problems(self.model.operation_model(op), self.last)
        if self.last is None:
            problems.append("no answer was seen")
        if code != error:
            problems.insert(0, "answered %s, want %s: %s" % (code or "success", error or "success",
                                                             resp.get("Error", {}).get("Message", "")))
        self.check(what, not problems, "; ".join(problems[:5]), quiet)
        return resp


def md5_of(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def run_s3(client, tmp, ok, bad, check):
    call = S3Caller(client, check)
    b = "e2e-boto3"
    call("CreateBucket", Bucket=b)
    call("CreateBucket", "BucketAlreadyOwnedByYou", Bucket=b)
    call("CreateBucket", "InvalidBucketName", Bucket="UPPER_case")
    call("HeadBucket", Bucket=b)
    call("HeadBucket", "404", Bucket="no-such-bucket")
    names = [x["Name"] for x in call("ListBuckets").get("Buckets", [])]
    check("ListBuckets lists the bucket", b in names, repr(names))
    loc = call("GetBucketLocation", Bucket=b)
    check("GetBucketLocation of us-east-1 is empty", loc.get("LocationConstraint") in (None, ""), repr(loc))

    put = call("PutObject", Bucket=b, Key="dir/a.txt", Body=b"hello", ContentType="text/plain",
               Metadata={"Owner": "e2e"}, Tagging="team=ci")
    check("PutObject ETag is the MD5", put.get("ETag") == '"%s"' % hashlib.md5(b"hello").hexdigest(), repr(put.get("ETag")))
    for key in ["dir/b.txt", "dir/sub/c.txt", "dir/sub/d.txt", "a", "a/b", "a//b", "../x", "é"]:
        call("PutObject", quiet=True, Bucket=b, Key=key, Body=key.encode())
    got = call("GetObject", Bucket=b, Key="dir/a.txt")
    check("GetObject body, type and metadata", got["Body"].read() == b"hello" and got.get("ContentType") == "text/plain"
          and got.get("Metadata") == {"owner": "e2e"}, repr({k: got.get(k) for k in ("ContentType", "Metadata")}))
    rng = call("GetObject", Bucket=b, Key="dir/a.txt", Range="bytes=1-3")
    check("GetObject with a Range", rng["Body"].read() == b"ell" and rng.get("ContentRange") == "bytes 1-3/5", repr(rng.get("ContentRange")))
    call("GetObject", "InvalidRange", Bucket=b, Key="dir/a.txt", Range="bytes=10-20")
    call("GetObject", "NoSuchKey", Bucket=b, Key="missing")
    call("GetObject", "NoSuchBucket", Bucket="no-such-bucket", Key="x")
    call("GetObject", "304", Bucket=b, Key="dir/a.txt", IfNoneMatch=put["ETag"])
    call("GetObject", "PreconditionFailed", Bucket=b, Key="dir/a.txt", IfMatch='"0000"')
    head = call("HeadObject", Bucket=b, Key="dir/a.txt")
    check("HeadObject size", head.get("ContentLength") == 5, repr(head.get("ContentLength")))

    l1 = call("ListObjectsV2", Bucket=b, Prefix="dir/", Delimiter="/")
    check("ListObjectsV2 with a delimiter", [o["Key"] for o in l1.get("Contents", [])] == ["dir/a.txt", "dir/b.txt"]
          and [p["Prefix"] for p in l1.get("CommonPrefixes", [])] == ["dir/sub/"], repr(l1))
    keys, token, pages = [], None, 0
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = call("ListObjectsV2", quiet=True, Bucket=b, MaxKeys=2, **kw)
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    want = sorted(["dir/a.txt", "dir/b.txt", "dir/sub/c.txt", "dir/sub/d.txt", "a", "a/b", "a//b", "../x", "é"],
                  key=lambda k: k.encode())
    check("ListObjectsV2 pages of 2 give every key in UTF-8 byte order", keys == want and pages == 5, repr((keys, pages)))
    v1 = call("ListObjects", Bucket=b, Marker="a/b", MaxKeys=1)
    check("ListObjects with a marker", [o["Key"] for o in v1.get("Contents", [])] == ["dir/a.txt"] and v1.get("IsTruncated") is True, repr(v1))

    call("CopyObject", Bucket=b, Key="copy.txt", CopySource={"Bucket": b, "Key": "dir/a.txt"})
    cp = call("HeadObject", quiet=True, Bucket=b, Key="copy.txt")
    check("CopyObject copies the metadata", cp.get("Metadata") == {"owner": "e2e"}, repr(cp.get("Metadata")))
    tags = call("GetObjectTagging", Bucket=b, Key="dir/a.txt").get("TagSet")
    check("the object's tags", tags == [{"Key": "team", "Value": "ci"}], repr(tags))
    call("PutObjectTagging", Bucket=b, Key="dir/a.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    call("DeleteObjectTagging", Bucket=b, Key="dir/a.txt")
    attrs = call("GetObjectAttributes", Bucket=b, Key="dir/a.txt", ObjectAttributes=["ETag", "ObjectSize"])
    check("GetObjectAttributes", attrs.get("ObjectSize") == 5, repr(attrs))

    up = call("CreateMultipartUpload", Bucket=b, Key="mp.bin")["UploadId"]
    p1, p2 = os.urandom(5 * 1024 * 1024), os.urandom(1024)
    e1 = call("UploadPart", Bucket=b, Key="mp.bin", UploadId=up, PartNumber=1, Body=p1)["ETag"]
    e2 = call("UploadPart", Bucket=b, Key="mp.bin", UploadId=up, PartNumber=2, Body=p2)["ETag"]
    parts = call("ListParts", Bucket=b, Key="mp.bin", UploadId=up).get("Parts", [])
    check("ListParts", [p["PartNumber"] for p in parts] == [1, 2], repr(parts))
    ups = call("ListMultipartUploads", Bucket=b).get("Uploads", [])
    check("ListMultipartUploads", [u["UploadId"] for u in ups] == [up], repr(ups))
    call("CompleteMultipartUpload", "InvalidPartOrder", Bucket=b, Key="mp.bin", UploadId=up,
         MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    call("CompleteMultipartUpload", "InvalidPart", Bucket=b, Key="mp.bin", UploadId=up,
         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})
    done = call("CompleteMultipartUpload", Bucket=b, Key="mp.bin", UploadId=up,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    md5s = b"".join(hashlib.md5(p).digest() for p in (p1, p2))
    check("a multipart ETag is the MD5 of the parts' MD5s, -2", done.get("ETag") == '"%s-2"' % hashlib.md5(md5s).hexdigest(), repr(done.get("ETag")))
    call("AbortMultipartUpload", "NoSuchUpload", Bucket=b, Key="mp.bin", UploadId=up)

    deleted = call("DeleteObjects", Bucket=b, Delete={"Objects": [{"Key": "a"}, {"Key": "a/b"}, {"Key": "never-was"}]})
    check("DeleteObjects", sorted(d["Key"] for d in deleted.get("Deleted", [])) == ["a", "a/b", "never-was"], repr(deleted))
    call("DeleteObject", Bucket=b, Key="a//b")
    call("DeleteBucket", "BucketNotEmpty", Bucket=b)
    call("GetBucketVersioning", "NotImplemented", Bucket=b)

    big, back = os.path.join(tmp, "big.bin"), os.path.join(tmp, "big.back")
    with open(big, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    cfg = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=4)
    try:
        client.upload_file(big, b, "big.bin", Config=cfg)
        client.download_file(b, "big.bin", back, Config=cfg)
        check("upload_file and download_file of 100 MB", md5_of(big) == md5_of(back), "the content differs")
    except ClientError as e:
        bad("upload_file/download_file of 100 MB: %s" % e)
    for p in (big, back):
        if os.path.exists(p):
            os.remove(p)
