package sigv4_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/pipewright/pipewright/sigv4"
)

// botoS3Script uploads the content(PW_SIZE) bytes through boto3's S3 client
// to PW_URL (HTTP) and PW_TLS_URL (HTTPS, certificate not checked) with
// put_object, upload_part and a SigV4 presigned PUT URL (boto3 presigns
// S3 URLs with SigV2 unless told otherwise), and once with a wrong
// secret; it prints each call's outcome as JSON.
const botoS3Script = `
import io, json, os, ssl, urllib.request
import boto3, botocore
from botocore.config import Config

n = int(os.environ['PW_SIZE'])
data = bytes(((i * 7 + i // 251) & 255) for i in range(n))
out = {}
cfg = Config(retries={'max_attempts': 1}, s3={'addressing_style': 'path'})

def call(name, fn):
    try:
        fn()
        out[name] = 'ok'
    except botocore.exceptions.ClientError as e:
        out[name] = e.response['Error']['Code']

for scheme, url in (('http', os.environ['PW_URL']), ('https', os.environ['PW_TLS_URL'])):
    s3 = boto3.client('s3', endpoint_url=url, verify=False, config=cfg)
    call(scheme + '-put', lambda: s3.put_object(Bucket='bucket', Key='dir/k ü', Body=data))
    call(scheme + '-put-file', lambda: s3.put_object(Bucket='bucket', Key='k', Body=io.BytesIO(data)))
    call(scheme + '-part', lambda: s3.upload_part(Bucket='bucket', Key='k', UploadId='u', PartNumber=2, Body=data))
    v4 = boto3.client('s3', endpoint_url=url, verify=False, config=cfg.merge(Config(signature_version='s3v4')))
    u = v4.generate_presigned_url('put_object', Params={'Bucket': 'bucket', 'Key': 'p'}, ExpiresIn=300)
    req = urllib.request.Request(u, data=data, method='PUT')
    out[scheme + '-presigned'] = str(urllib.request.urlopen(req, context=ssl._create_unverified_context()).status)
    wrong = boto3.client('s3', endpoint_url=url, verify=False, config=cfg,
        aws_access_key_id=os.environ['AWS_ACCESS_KEY_ID'], aws_secret_access_key='wrong')
    call(scheme + '-wrong', lambda: wrong.put_object(Bucket='bucket', Key='k', Body=data))
print(json.dumps(out))
`

// TestBoto3S3Uploads checks VerifyStream against the bodies boto3 sends:
// over HTTPS aws-chunked with a CRC32 trailer, over HTTP a signed hex hash,
// presigned URLs unsigned. Skipped when python3 with boto3 is not
// installed.
func TestBoto3S3Uploads(t *testing.T) {
	t.Parallel()
	if !havePython(t) {
		t.Skip("python3 with boto3 not installed")
	}
	const size = 2_500_000 // more than two of botocore's 1 MiB chunks
	data := content(size)
	crc := make([]byte, 4)
	binary.BigEndian.PutUint32(crc, crc32.ChecksumIEEE(data))
	wantCRC := base64.StdEncoding.EncodeToString(crc)

	plain, secure := &s3Recorder{v: newVerifierNow()}, &s3Recorder{v: newVerifierNow()}
	srv, tlsSrv := httptest.NewServer(plain), httptest.NewTLSServer(secure)
	t.Cleanup(srv.Close)
	t.Cleanup(tlsSrv.Close)
	cmd := exec.Command("python3", "-c", botoS3Script)
	cmd.Env = append(clientEnv(srv.URL), "PW_TLS_URL="+tlsSrv.URL, "PW_SIZE="+strconv.Itoa(size), "PYTHONWARNINGS=ignore")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			for _, u := range append(plain.up, secure.up...) {
				t.Logf("server: %s %v", u.contentSHA, u.err)
			}
			t.Fatalf("python3: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, scheme := range []string{"http", "https"} {
		for _, call := range []string{"put", "put-file", "part"} {
			if got[scheme+"-"+call] != "ok" {
				t.Errorf("%s %s: %s", scheme, call, got[scheme+"-"+call])
			}
		}
		if got[scheme+"-presigned"] != "200" {
			t.Errorf("%s presigned PUT: %s", scheme, got[scheme+"-presigned"])
		}
		if got[scheme+"-wrong"] != sigv4.CodeInvalidSignature {
			t.Errorf("%s wrong secret: %s", scheme, got[scheme+"-wrong"])
		}
	}

	for rec, scheme := range map[*s3Recorder]string{plain: "http", secure: "https"} {
		forms := map[string]int{}
		for i, u := range rec.up {
			if u.err != nil {
				var e *sigv4.Error
				if !errors.As(u.err, &e) || e.Code != sigv4.CodeInvalidSignature || i != len(rec.up)-1 {
					t.Errorf("%s upload %d: %v", scheme, i, u.err)
				}
				continue
			}
			if !bytes.Equal(u.content, data) {
				t.Errorf("%s upload %d (%s): %d bytes differ from the %d sent", scheme, i, u.contentSHA, len(u.content), len(data))
			}
			form := u.contentSHA
			if len(form) == 64 && !strings.HasPrefix(form, "STREAMING") {
				form = "hex"
			}
			forms[form]++
			if strings.HasSuffix(form, "-TRAILER") && u.trailer["x-amz-checksum-crc32"] != wantCRC {
				t.Errorf("%s upload %d: trailer %v, want crc32 %s", scheme, i, u.trailer, wantCRC)
			}
		}
		t.Logf("%s: x-amz-content-sha256 forms %v", scheme, forms)
		want := map[string]map[string]int{
			"http":  {"hex": 3, "": 1},
			"https": {"STREAMING-UNSIGNED-PAYLOAD-TRAILER": 3, "": 1},
		}[scheme]
		if len(forms) != len(want) || forms["hex"] != want["hex"] || forms[""] != want[""] ||
			forms["STREAMING-UNSIGNED-PAYLOAD-TRAILER"] != want["STREAMING-UNSIGNED-PAYLOAD-TRAILER"] {
			t.Errorf("%s: forms %v, want %v", scheme, forms, want)
		}
	}
}
