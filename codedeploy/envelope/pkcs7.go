package envelope

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"
)

// Object identifiers of RFC 2315, RFC 5652, RFC 5754 and RFC 5758.
var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidECDSAWithSHA2 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []algorithmIdentifier `asn1:"set"`
	ContentInfo      contentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue // a SET OF one value, encoded whole
}

type signerInfo struct {
	Version                   int
	IssuerAndSerialNumber     issuerAndSerial
	DigestAlgorithm           algorithmIdentifier
	AuthenticatedAttributes   asn1.RawValue `asn1:"optional,tag:0"`
	DigestEncryptionAlgorithm algorithmIdentifier
	EncryptedDigest           []byte
}

// Envelope is what GetDeploymentSpecification hands a host: Format is
// always "PKCS7/JSON" and Payload the PEM ("-----BEGIN PKCS7-----") of
// the SignedData, which OpenSSL::PKCS7.new reads as it reads DER, and
// which, unlike DER, survives being a JSON string.
type Envelope struct {
	Format  string
	Payload string
}

// Seal signs doc (the specification's JSON) into an Envelope.
func (s *Signer) Seal(doc []byte) (Envelope, error) {
	der, err := s.Sign(doc)
	if err != nil {
		return Envelope{}, err
	}
	return Envelope{Format: Format, Payload: string(pem.EncodeToMemory(&pem.Block{Type: "PKCS7", Bytes: der}))}, nil
}

// Sign returns the DER of a PKCS#7 ContentInfo holding a SignedData
// (version 1) over content, included as its data: one signer, identified
// by issuer and serial number, with SHA-256 as digest, authenticated
// attributes contentType, messageDigest and signingTime, and the signer's
// certificate in certificates.
func (s *Signer) Sign(content []byte) ([]byte, error) {
	sigAlg, err := signatureAlgorithm(s.key.Public())
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(content)
	attrs, err := authenticatedAttributes(digest[:], s.now().UTC())
	if err != nil {
		return nil, err
	}
	// The signature covers the attributes' DER as a SET OF (tag 0x31),
	// while the SignerInfo carries them as [0] IMPLICIT (tag 0xa0).
	attrDigest := sha256.Sum256(attrs)
	sig, err := s.key.Sign(rand.Reader, attrDigest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	implicit := append([]byte{0xa0}, attrs[1:]...)
	sha := algorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}
	data, err := asn1.Marshal(content)
	if err != nil {
		return nil, err
	}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []algorithmIdentifier{sha},
		ContentInfo: contentInfo{ContentType: oidData,
			Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: data}},
		Certificates: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: s.cert.Raw},
		SignerInfos: []signerInfo{{
			Version:                   1,
			IssuerAndSerialNumber:     issuerAndSerial{Issuer: asn1.RawValue{FullBytes: s.cert.RawIssuer}, Serial: s.cert.SerialNumber},
			DigestAlgorithm:           sha,
			AuthenticatedAttributes:   asn1.RawValue{FullBytes: implicit},
			DigestEncryptionAlgorithm: sigAlg,
			EncryptedDigest:           sig,
		}},
	}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{ContentType: oidSignedData,
		Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
}

// signatureAlgorithm names the digestEncryptionAlgorithm for a public key:
// rsaEncryption (as RFC 2315 and OpenSSL write it) or ecdsa-with-SHA256.
func signatureAlgorithm(pub crypto.PublicKey) (algorithmIdentifier, error) {
	switch pub.(type) {
	case *rsa.PublicKey:
		return algorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}, nil
	case *ecdsa.PublicKey:
		return algorithmIdentifier{Algorithm: oidECDSAWithSHA2}, nil
	}
	return algorithmIdentifier{}, fmt.Errorf("%w: unsupported key type %T", ErrBadSigner, pub)
}

// authenticatedAttributes returns the DER of the SET OF attributes, sorted
// as DER requires of a SET OF (by their encodings).
func authenticatedAttributes(digest []byte, at time.Time) ([]byte, error) {
	var encoded [][]byte
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   any
	}{{oidContentType, oidData}, {oidSigningTime, at}, {oidMessageDigest, digest}} {
		v, err := asn1.Marshal(a.v)
		if err != nil {
			return nil, err
		}
		b, err := asn1.Marshal(attribute{Type: a.oid, Values: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: v}})
		if err != nil {
			return nil, err
		}
		encoded = append(encoded, b)
	}
	sortDER(encoded)
	var body []byte
	for _, b := range encoded {
		body = append(body, b...)
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: body})
}
