package envelope

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const spec = `{"DeploymentId":"d-ABCDEFGHI","DeploymentGroupId":"g","DeploymentGroupName":"web","ApplicationName":"app","Revision":{"RevisionType":"S3","S3Revision":{"Bucket":"b","Key":"k.zip","BundleType":"zip","ETag":"e"}}}`

// TestOpenKeepsSigner checks that Open generates the key and certificate
// once, 0600, and returns the same signer afterwards.
func TestOpenKeepsSigner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "codedeploy")
	s1, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"signer.key", "signer.crt"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1.Certificate().Raw, s2.Certificate().Raw) {
		t.Error("a second Open made a new certificate")
	}
	if err := os.Remove(filepath.Join(dir, "signer.crt")); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrBadSigner) {
		t.Errorf("Open with a lone key: %v, want ErrBadSigner", err)
	}
}

// TestSealECDSAOpenSSL checks the ECDSA envelope through openssl and Ruby.
func TestSealECDSAOpenSSL(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	checkEnvelope(t, s)
}

// TestSealRSAOpenSSL checks an envelope signed with an RSA key.
func TestSealRSAOpenSSL(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "rsa signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(key, cert)
	if err != nil {
		t.Fatal(err)
	}
	checkEnvelope(t, s)
}

// TestNewSignerMismatch checks that a key is refused with another's
// certificate.
func TestNewSignerMismatch(t *testing.T) {
	a, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(a.key, b.cert); !errors.Is(err, ErrBadSigner) {
		t.Errorf("NewSigner with a foreign certificate: %v, want ErrBadSigner", err)
	}
}

// checkEnvelope seals spec with s and has openssl (when installed) and
// Ruby's OpenSSL::PKCS7 (when ruby is installed, as the agent does it)
// verify it and give back the document.
func checkEnvelope(t *testing.T, s *Signer) {
	t.Helper()
	env, err := s.Seal([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if env.Format != "PKCS7/JSON" || !strings.HasPrefix(env.Payload, "-----BEGIN PKCS7-----\n") {
		t.Fatalf("envelope %q: %.40q", env.Format, env.Payload)
	}
	if b, _ := pem.Decode([]byte(env.Payload)); b == nil || b.Type != "PKCS7" {
		t.Fatal("the payload is not one PKCS7 PEM block")
	}
	file := filepath.Join(t.TempDir(), "spec.p7")
	if err := os.WriteFile(file, []byte(env.Payload), 0o600); err != nil {
		t.Fatal(err)
	}
	checked := false
	if _, err := exec.LookPath("openssl"); err == nil {
		checked = true
		out, err := exec.Command("openssl", "smime", "-verify", "-noverify", "-inform", "PEM", "-in", file).Output()
		if err != nil {
			t.Fatalf("openssl smime -verify: %v", stderr(err))
		}
		if string(out) != spec {
			t.Errorf("openssl gave back %q", out)
		}
		tampered := bytes.Replace([]byte(spec), []byte("web"), []byte("wex"), 1)
		der, _ := pem.Decode([]byte(env.Payload))
		bad := bytes.Replace(der.Bytes, []byte(spec), tampered, 1)
		badFile := filepath.Join(t.TempDir(), "bad.p7")
		if err := os.WriteFile(badFile, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("openssl", "smime", "-verify", "-noverify", "-inform", "DER", "-in", badFile).Run(); err == nil {
			t.Error("openssl verified a tampered envelope")
		}
	}
	if _, err := exec.LookPath("ruby"); err == nil {
		checked = true
		// What deployment_specification.rb does with a PKCS7/JSON envelope.
		script := `p = OpenSSL::PKCS7.new(File.read(ARGV[0])); ` +
			`p.verify([], OpenSSL::X509::Store.new, nil, OpenSSL::PKCS7::NOVERIFY) or abort("verify failed"); ` +
			`print p.data`
		out, err := exec.Command("ruby", "-ropenssl", "-e", script, file).Output()
		if err != nil {
			t.Fatalf("ruby OpenSSL::PKCS7 verify: %v", stderr(err))
		}
		if string(out) != spec {
			t.Errorf("ruby gave back %q", out)
		}
	}
	if !checked {
		t.Skip("neither openssl nor ruby is installed: the envelope was not checked")
	}
}

func stderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return err.Error() + ": " + string(ee.Stderr)
	}
	return err.Error()
}
