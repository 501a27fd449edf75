package envelope

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	_ "crypto/sha512" // SHA-384 and SHA-512 digests
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
)

// Errors of Verify.
var (
	// ErrFormat is an envelope whose Format is not PKCS7/JSON.
	ErrFormat = errors.New("envelope: format is not " + Format)
	// ErrMalformed is a payload that is not a PKCS#7 SignedData carrying
	// its content, with a signer and the signer's certificate, in
	// algorithms Verify knows.
	ErrMalformed = errors.New("envelope: malformed PKCS#7 SignedData")
	// ErrSignature is a content whose digest or signature does not match.
	ErrSignature = errors.New("envelope: signature does not verify")
)

// More object identifiers: RFC 3279, RFC 4055, RFC 5758.
var (
	oidSHA384           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512           = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidSHA256WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey      = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA384  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512  = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	rsaSignatureOIDs    = []asn1.ObjectIdentifier{oidRSAEncryption, oidSHA256WithRSA, oidSHA384WithRSA, oidSHA512WithRSA}
	ecdsaSignatureOIDs  = []asn1.ObjectIdentifier{oidECPublicKey, oidECDSAWithSHA2, oidECDSAWithSHA384, oidECDSAWithSHA512}
	digestAlgorithmOIDs = map[string]crypto.Hash{oidSHA256.String(): crypto.SHA256, oidSHA384.String(): crypto.SHA384, oidSHA512.String(): crypto.SHA512}
)

// signedDataIn is a SignedData as Verify reads it: with the optional
// crls, and signer infos of either RFC 2315's or RFC 5652's form.
type signedDataIn struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	ContentInfo      contentInfo
	Certificates     asn1.RawValue  `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue  `asn1:"optional,tag:1"`
	SignerInfos      []signerInfoIn `asn1:"set"`
}

type signerInfoIn struct {
	Version int
	// SID is an IssuerAndSerialNumber, or (RFC 5652) a [0]
	// SubjectKeyIdentifier.
	SID                       asn1.RawValue
	DigestAlgorithm           algorithmIdentifier
	AuthenticatedAttributes   asn1.RawValue `asn1:"optional,tag:0"`
	DigestEncryptionAlgorithm algorithmIdentifier
	EncryptedDigest           []byte
	UnauthenticatedAttributes asn1.RawValue `asn1:"optional,tag:1"`
}

// Verify opens a PKCS7/JSON envelope as AWS's agent does
// (OpenSSL::PKCS7#verify with NOVERIFY) and returns the content it
// carries. The payload is the PEM (PKCS7 or CMS) or the DER of a PKCS#7
// ContentInfo holding a SignedData whose content is included; every
// signer's signature must verify with the signer's certificate that the
// SignedData carries, whose chain is not checked: Verify proves the
// content unaltered since signing, not who signed it. Signers may use
// RSA (PKCS#1 v1.5) or ECDSA keys and SHA-256, SHA-384 or SHA-512; with
// authenticated attributes, their messageDigest must be the content's
// digest and the signature is over the attributes.
func Verify(e Envelope) ([]byte, error) {
	if e.Format != Format {
		return nil, fmt.Errorf("%w: %q", ErrFormat, e.Format)
	}
	der := []byte(e.Payload)
	if b, rest := pem.Decode(der); b != nil {
		if (b.Type != "PKCS7" && b.Type != "CMS") || len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("%w: the payload is not one PKCS7 PEM block", ErrMalformed)
		}
		der = b.Bytes
	}
	sd, err := parseSignedData(der)
	if err != nil {
		return nil, err
	}
	content, err := includedContent(sd.ContentInfo)
	if err != nil {
		return nil, err
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: certificates: %v", ErrMalformed, err)
	}
	if len(sd.SignerInfos) == 0 {
		return nil, fmt.Errorf("%w: no signer", ErrMalformed)
	}
	for i := range sd.SignerInfos {
		if err := verifySigner(&sd.SignerInfos[i], sd.ContentInfo.ContentType, content, certs); err != nil {
			return nil, err
		}
	}
	return content, nil
}

// parseSignedData reads the ContentInfo of a SignedData from its DER.
func parseSignedData(der []byte) (*signedDataIn, error) {
	var ci contentInfo
	if rest, err := asn1.Unmarshal(der, &ci); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: not one DER ContentInfo", ErrMalformed)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("%w: content type %v is not signedData", ErrMalformed, ci.ContentType)
	}
	var sd signedDataIn
	// An explicit [0] RawValue is the tagged element; its Bytes, the
	// SignedData.
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: SignedData: %v", ErrMalformed, err)
	}
	return &sd, nil
}

// includedContent is the octets of the SignedData's data.
func includedContent(ci contentInfo) ([]byte, error) {
	if !ci.ContentType.Equal(oidData) {
		return nil, fmt.Errorf("%w: encapsulated content type %v is not data", ErrMalformed, ci.ContentType)
	}
	if len(ci.Content.FullBytes) == 0 {
		return nil, fmt.Errorf("%w: the content is detached", ErrMalformed)
	}
	var content []byte
	if rest, err := asn1.Unmarshal(ci.Content.Bytes, &content); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: the content is not an OCTET STRING", ErrMalformed)
	}
	return content, nil
}

// verifySigner checks one signer's digest and signature over content.
func verifySigner(si *signerInfoIn, contentType asn1.ObjectIdentifier, content []byte, certs []*x509.Certificate) error {
	cert, err := signerCertificate(si.SID, certs)
	if err != nil {
		return err
	}
	h, ok := digestAlgorithmOIDs[si.DigestAlgorithm.Algorithm.String()]
	if !ok {
		return fmt.Errorf("%w: digest algorithm %v", ErrMalformed, si.DigestAlgorithm.Algorithm)
	}
	signed := digestOf(h, content)
	if len(si.AuthenticatedAttributes.FullBytes) != 0 {
		if err := checkAttributes(si.AuthenticatedAttributes.Bytes, contentType, signed); err != nil {
			return err
		}
		// The signature is over the attributes as a SET OF (tag 0x31),
		// not as the [0] IMPLICIT (0xa0) that the SignerInfo carries.
		set := append([]byte{0x31}, si.AuthenticatedAttributes.FullBytes[1:]...)
		signed = digestOf(h, set)
	}
	alg := si.DigestEncryptionAlgorithm.Algorithm
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if !oidIn(alg, rsaSignatureOIDs) {
			return fmt.Errorf("%w: signature algorithm %v for an RSA key", ErrMalformed, alg)
		}
		if rsa.VerifyPKCS1v15(pub, h, signed, si.EncryptedDigest) != nil {
			return ErrSignature
		}
	case *ecdsa.PublicKey:
		if !oidIn(alg, ecdsaSignatureOIDs) {
			return fmt.Errorf("%w: signature algorithm %v for an ECDSA key", ErrMalformed, alg)
		}
		if !ecdsa.VerifyASN1(pub, signed, si.EncryptedDigest) {
			return ErrSignature
		}
	default:
		return fmt.Errorf("%w: the signer's key is a %T", ErrMalformed, cert.PublicKey)
	}
	return nil
}

// signerCertificate is the certificate sid names, by issuer and serial
// number or by subject key identifier.
func signerCertificate(sid asn1.RawValue, certs []*x509.Certificate) (*x509.Certificate, error) {
	var ias issuerAndSerial
	bySerial := sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence
	if bySerial {
		if rest, err := asn1.Unmarshal(sid.FullBytes, &ias); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("%w: signer identifier", ErrMalformed)
		}
	} else if sid.Class != asn1.ClassContextSpecific || sid.Tag != 0 {
		return nil, fmt.Errorf("%w: signer identifier", ErrMalformed)
	}
	for _, c := range certs {
		if bySerial && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 ||
			!bySerial && len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w: the signer's certificate is not included", ErrMalformed)
}

// checkAttributes checks the authenticated attributes (the contents of
// their SET): messageDigest must be present and be digest, and a
// contentType must be that of the content.
func checkAttributes(set []byte, contentType asn1.ObjectIdentifier, digest []byte) error {
	found := false
	for len(set) > 0 {
		var a attribute
		var err error
		if set, err = asn1.Unmarshal(set, &a); err != nil {
			return fmt.Errorf("%w: authenticated attributes", ErrMalformed)
		}
		switch {
		case a.Type.Equal(oidMessageDigest):
			var md []byte
			if rest, err := asn1.Unmarshal(a.Values.Bytes, &md); err != nil || len(rest) != 0 {
				return fmt.Errorf("%w: messageDigest", ErrMalformed)
			}
			if !bytes.Equal(md, digest) {
				return fmt.Errorf("%w: the content's digest is not the messageDigest", ErrSignature)
			}
			found = true
		case a.Type.Equal(oidContentType):
			var ct asn1.ObjectIdentifier
			if rest, err := asn1.Unmarshal(a.Values.Bytes, &ct); err != nil || len(rest) != 0 || !ct.Equal(contentType) {
				return fmt.Errorf("%w: contentType attribute", ErrMalformed)
			}
		}
	}
	if !found {
		return fmt.Errorf("%w: no messageDigest attribute", ErrMalformed)
	}
	return nil
}

func digestOf(h crypto.Hash, b []byte) []byte {
	w := h.New()
	w.Write(b)
	return w.Sum(nil)
}

func oidIn(o asn1.ObjectIdentifier, set []asn1.ObjectIdentifier) bool {
	for _, s := range set {
		if o.Equal(s) {
			return true
		}
	}
	return false
}
