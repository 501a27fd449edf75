// Package envelope makes the PKCS7/JSON envelopes in which CodeDeploy hands a
// host its deployment specification: a PKCS#7 SignedData (RFC 2315) that
// carries the JSON document itself, signed with SHA-256 by a key and
// self-signed certificate that pipewright generates once and keeps.
//
// AWS's agent reads such an envelope with OpenSSL::PKCS7.new(payload) and
// verify(..., NOVERIFY): it checks the signature against the certificate the
// envelope carries but not that certificate's chain, so a self-signed
// certificate serves. It refuses TEXT/JSON.
package envelope

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Format is the Envelope.Format of a signed deployment specification.
const Format = "PKCS7/JSON"

// ErrBadSigner is returned by Open when the key or certificate files exist
// but do not form a usable signer (unreadable PEM, key and certificate that
// do not match, an unsupported key type).
var ErrBadSigner = errors.New("envelope: bad signer files")

// Signer signs documents into envelopes. It is safe for concurrent use.
type Signer struct {
	key  crypto.Signer
	cert *x509.Certificate
	now  func() time.Time
}

// Open returns the signer kept in dir (signer.key and signer.crt, PEM),
// generating them first, with modes 0600, when neither exists: an ECDSA
// P-256 key and a self-signed certificate valid for ten years. dir is
// created (0700) if needed. A lone key or certificate is ErrBadSigner, not
// replaced: what a host may have seen is never silently changed.
func Open(dir string) (*Signer, error) {
	keyPath, certPath := filepath.Join(dir, "signer.key"), filepath.Join(dir, "signer.crt")
	keyPEM, kerr := os.ReadFile(keyPath)
	certPEM, cerr := os.ReadFile(certPath)
	switch {
	case errors.Is(kerr, os.ErrNotExist) && errors.Is(cerr, os.ErrNotExist):
		return generate(dir, keyPath, certPath)
	case kerr != nil && !errors.Is(kerr, os.ErrNotExist):
		return nil, kerr
	case cerr != nil && !errors.Is(cerr, os.ErrNotExist):
		return nil, cerr
	case kerr != nil || cerr != nil:
		return nil, fmt.Errorf("%w: %s and %s must both exist", ErrBadSigner, keyPath, certPath)
	}
	return parse(keyPEM, certPEM)
}

// Certificate returns the signer's certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.cert }

func generate(dir, keyPath, certPath string) (*Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "pipewright CodeDeploy deployment signer", Organization: []string{"pipewright"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The certificate is written last: a crash in between leaves a lone
	// key, which Open reports rather than regenerating over.
	if err := writeFile(keyPath, keyPEM); err != nil {
		return nil, err
	}
	if err := writeFile(certPath, certPEM); err != nil {
		return nil, err
	}
	return parse(keyPEM, certPEM)
}

// writeFile writes b to path (mode 0600) through a temporary file and a
// rename, so that path is either absent or whole.
func writeFile(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func parse(keyPEM, certPEM []byte) (*Signer, error) {
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return nil, fmt.Errorf("%w: not PEM", ErrBadSigner)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSigner, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSigner, err)
	}
	return NewSigner(k, cert)
}

// NewSigner returns a Signer for an RSA or ECDSA key and its certificate.
func NewSigner(key crypto.PrivateKey, cert *x509.Certificate) (*Signer, error) {
	k, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: unsupported key type %T", ErrBadSigner, key)
	}
	if _, err := signatureAlgorithm(k.Public()); err != nil {
		return nil, err
	}
	if cp, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !cp.Equal(k.Public()) {
		return nil, fmt.Errorf("%w: the key does not match the certificate", ErrBadSigner)
	}
	return &Signer{key: k, cert: cert, now: time.Now}, nil
}
