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
	"testing"
	"time"
)

// rsaSigner is a Signer with a new RSA key and its self-signed certificate.
func rsaSigner(t *testing.T) *Signer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "rsa signer"},
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
	return s
}

// pemOf is der as a PKCS7 envelope's payload.
func pemOf(der []byte) Envelope {
	return Envelope{Format: Format, Payload: string(pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: der}))}
}

// TestVerifySealed checks that what Seal makes, with an ECDSA and an RSA
// signer, verifies and gives back the document, and that a changed
// content or signature is refused.
func TestVerifySealed(t *testing.T) {
	ec, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*Signer{"ECDSA": ec, "RSA": rsaSigner(t)} {
		t.Run(name, func(t *testing.T) {
			env, err := s.Seal([]byte(spec))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Verify(env)
			if err != nil || string(doc) != spec {
				t.Fatalf("Verify: %q, %v", doc, err)
			}
			der, err := s.Sign([]byte(spec))
			if err != nil {
				t.Fatal(err)
			}
			if doc, err := Verify(Envelope{Format: Format, Payload: string(der)}); err != nil || string(doc) != spec {
				t.Errorf("Verify of the DER: %q, %v", doc, err)
			}

			content := bytes.Replace(der, []byte(`"web"`), []byte(`"wex"`), 1)
			if _, err := Verify(pemOf(content)); !errors.Is(err, ErrSignature) {
				t.Errorf("Verify of a changed content: %v, want ErrSignature", err)
			}
			sig := bytes.Clone(der)
			sig[len(sig)-1] ^= 0x01 // the signature ends the SignerInfo
			if _, err := Verify(pemOf(sig)); !errors.Is(err, ErrSignature) {
				t.Errorf("Verify of a changed signature: %v, want ErrSignature", err)
			}
		})
	}
}

// TestVerifyRefuses checks the errors for other formats and for payloads
// that are not a SignedData.
func TestVerifyRefuses(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	env, err := s.Seal([]byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(Envelope{Format: "TEXT/JSON", Payload: spec}); !errors.Is(err, ErrFormat) {
		t.Errorf("Verify of TEXT/JSON: %v, want ErrFormat", err)
	}
	der, _ := pem.Decode([]byte(env.Payload))
	for name, payload := range map[string]string{
		"empty":          "",
		"JSON":           spec,
		"garbage PEM":    string(pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: []byte("garbage")})),
		"certificate":    string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})),
		"truncated DER":  string(der.Bytes[:len(der.Bytes)-10]),
		"trailing bytes": string(append(bytes.Clone(der.Bytes), 0)),
		"two PEM blocks": env.Payload + env.Payload,
	} {
		if _, err := Verify(Envelope{Format: Format, Payload: payload}); !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify of %s: %v, want ErrMalformed", name, err)
		}
	}
}

// TestVerifyOpenSSL checks envelopes that openssl makes, with keys and
// certificates openssl generates: PKCS#7 by smime -sign and CMS by cms
// -sign (its signer also named by subject key identifier), ECDSA and RSA.
func TestVerifyOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(in, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	openssl := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("openssl", args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	keys := map[string][]string{
		"ECDSA": {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"},
		"RSA":   {"-newkey", "rsa:2048"},
	}
	signs := map[string][]string{
		"smime":        {"smime", "-sign", "-nodetach", "-binary", "-md", "sha256"},
		"cms":          {"cms", "-sign", "-nodetach", "-binary", "-md", "sha256"},
		"cms keyid":    {"cms", "-sign", "-nodetach", "-binary", "-md", "sha256", "-keyid"},
		"smime sha384": {"smime", "-sign", "-nodetach", "-binary", "-md", "sha384"},
	}
	for kname, newkey := range keys {
		key, cert := filepath.Join(dir, kname+".key"), filepath.Join(dir, kname+".crt")
		openssl(append(append([]string{"req", "-x509"}, newkey...), "-nodes", "-subj", "/CN=openssl signer", "-days", "1", "-keyout", key, "-out", cert)...)
		for sname, sign := range signs {
			t.Run(kname+" "+sname, func(t *testing.T) {
				out := filepath.Join(dir, kname+sname+".p7")
				openssl(append(sign, "-outform", "DER", "-in", in, "-signer", cert, "-inkey", key, "-out", out)...)
				der, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				doc, err := Verify(pemOf(der))
				if err != nil || string(doc) != spec {
					t.Fatalf("Verify: %q, %v", doc, err)
				}
				bad := bytes.Replace(der, []byte(`"web"`), []byte(`"wex"`), 1)
				if _, err := Verify(pemOf(bad)); !errors.Is(err, ErrSignature) {
					t.Errorf("Verify of a changed content: %v, want ErrSignature", err)
				}
			})
		}
	}
}
