// Package p15 holds the ASN.1 of ISO/IEC 7816-15 (PKCS#15) that the card
// reader needs: the EF.DIR application template, the object directory
// (EF.ODF), EF.TokenInfo and the certificate, private key and
// authentication (PIN) directory files. It decodes them for the protocol
// client (package cardreader) and encodes them for the virtual card
// (package vcard).
//
// Only what the station uses is modelled: the parsers skip trailing
// elements they do not know, as the ASN.1 extension markers allow.
package p15

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// AID is the application identifier of the PKCS#15 application:
// A0 00 00 00 63 "PKCS-15".
var AID = []byte{0xA0, 0x00, 0x00, 0x00, 0x63, 'P', 'K', 'C', 'S', '-', '1', '5'}

// File identifiers fixed by ISO/IEC 7816-4 and 7816-15.
const (
	FIDMaster    = 0x3F00 // MF
	FIDDir       = 0x2F00 // EF.DIR, under the MF
	FIDODF       = 0x5031 // EF.ODF, in the PKCS#15 application DF
	FIDTokenInfo = 0x5032 // EF.TokenInfo, in the PKCS#15 application DF
)

// ODF entry tags (context-specific, constructed): which directory file a
// path leads to.
const (
	ODFPrivateKeys         = 0
	ODFPublicKeys          = 1
	ODFTrustedPublicKeys   = 2
	ODFSecretKeys          = 3
	ODFCertificates        = 4
	ODFTrustedCertificates = 5
	ODFUsefulCertificates  = 6
	ODFDataObjects         = 7
	ODFAuthObjects         = 8
)

// Key usage bits (KeyUsageFlags).
const (
	UsageEncrypt        = 0
	UsageDecrypt        = 1
	UsageSign           = 2
	UsageSignRecover    = 3
	UsageNonRepudiation = 9
)

// PIN flag bits (PinFlags).
const (
	PINCaseSensitive = 0
	PINLocal         = 1
	PINInitialized   = 4
	PINNeedsPadding  = 5
	PINUnblocking    = 6
	PINSO            = 7
)

// PIN types (PinType).
const (
	PINTypeBCD          = 0
	PINTypeASCIINumeric = 1
	PINTypeUTF8         = 2
)

// KeyType is the kind of a private key object.
type KeyType int

// Private key kinds.
const (
	KeyRSA KeyType = iota + 1 // privateRSAKey: an untagged SEQUENCE
	KeyEC                     // privateECKey: [0] IMPLICIT SEQUENCE
)

// Path is ISO 7816-15 Path: a file path (an absolute one starts with
// 3F00) and, for a part of a file, an offset and a length.
type Path struct {
	Path   []byte
	Index  int `asn1:"optional,default:0"`
	Length int `asn1:"optional,tag:0,default:0"`
}

// Application is one application template of EF.DIR ([APPLICATION 1]).
type Application struct {
	AID   []byte `asn1:"application,tag:15"`
	Label string `asn1:"application,tag:16,utf8,optional"`
	Path  []byte `asn1:"application,tag:17,optional"`
}

// TokenInfo is the start of EF.TokenInfo; later fields are ignored.
type TokenInfo struct {
	Version      int
	SerialNumber []byte
}

// CommonObjectAttributes is the first element of every PKCS#15 object.
type CommonObjectAttributes struct {
	Label  string         `asn1:"utf8,optional"`
	Flags  asn1.BitString `asn1:"optional"`
	AuthID []byte         `asn1:"optional"`
}

// CommonKeyAttributes is a private key's class attributes.
type CommonKeyAttributes struct {
	ID          []byte
	Usage       asn1.BitString
	Native      bool           `asn1:"optional"`
	AccessFlags asn1.BitString `asn1:"optional"`
	// KeyReference is -1 when absent.
	KeyReference int `asn1:"optional,default:-1"`
}

// CommonCertificateAttributes is a certificate's class attributes.
type CommonCertificateAttributes struct {
	ID        []byte
	Authority bool `asn1:"optional"`
}

// CommonAuthenticationObjectAttributes is an authentication object's
// class attributes.
type CommonAuthenticationObjectAttributes struct {
	AuthID []byte `asn1:"optional"`
}

// PINAttributes are a PIN object's type attributes.
type PINAttributes struct {
	Flags        asn1.BitString
	Type         asn1.Enumerated
	MinLength    int
	StoredLength int
	MaxLength    int    `asn1:"optional,default:0"`
	Reference    int    `asn1:"optional,tag:0,default:0"`
	PadChar      []byte `asn1:"optional"`
}

// PrivateKey is a private key object of the PrKDF.
type PrivateKey struct {
	Type   KeyType
	Common CommonObjectAttributes
	Key    CommonKeyAttributes
	Path   Path // the key's path (informative; the key stays on the card)
	// ModulusLength is the RSA modulus length in bits; 0 for EC keys.
	ModulusLength int
}

// Certificate is an X.509 certificate object of the CDF.
type Certificate struct {
	Common CommonObjectAttributes
	Cert   CommonCertificateAttributes
	// Path is where the certificate is, unless Direct holds it.
	Path   Path
	Direct []byte
}

// PIN is a PIN object of the AODF.
type PIN struct {
	Common CommonObjectAttributes
	Auth   CommonAuthenticationObjectAttributes
	Attrs  PINAttributes
}

// Elements splits b into its top-level DER elements. It stops at the end
// or at padding (a 00 or FF byte where a tag would start), as files are
// often longer than their content.
func Elements(b []byte) ([]asn1.RawValue, error) {
	var out []asn1.RawValue
	for len(b) > 0 && b[0] != 0x00 && b[0] != 0xFF {
		var rv asn1.RawValue
		rest, err := asn1.Unmarshal(b, &rv)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", len(out), err)
		}
		out = append(out, rv)
		b = rest
	}
	return out, nil
}

// ParseDir returns the application templates of EF.DIR (transparent: the
// templates one after another).
func ParseDir(b []byte) ([]Application, error) {
	els, err := Elements(b)
	if err != nil {
		return nil, fmt.Errorf("EF.DIR: %w", err)
	}
	var apps []Application
	for _, el := range els {
		if el.Class != asn1.ClassApplication || el.Tag != 1 {
			continue
		}
		var app Application
		if _, err := asn1.UnmarshalWithParams(el.FullBytes, &app, "application,tag:1"); err != nil {
			return nil, fmt.Errorf("EF.DIR: application template: %w", err)
		}
		apps = append(apps, app)
	}
	return apps, nil
}

// ParseODF returns the paths of EF.ODF by entry tag (ODFPrivateKeys, …).
// Entries that are not paths (objects held directly in the ODF) are
// skipped.
func ParseODF(b []byte) (map[int][]Path, error) {
	els, err := Elements(b)
	if err != nil {
		return nil, fmt.Errorf("EF.ODF: %w", err)
	}
	out := map[int][]Path{}
	for _, el := range els {
		if el.Class != asn1.ClassContextSpecific || !el.IsCompound {
			continue
		}
		var p Path
		rest, err := asn1.Unmarshal(el.Bytes, &p)
		if err != nil {
			continue // a direct object, not a path
		}
		if len(rest) != 0 {
			return nil, fmt.Errorf("EF.ODF: entry [%d]: trailing data", el.Tag)
		}
		out[el.Tag] = append(out[el.Tag], p)
	}
	return out, nil
}

// ParseTokenInfo decodes EF.TokenInfo.
func ParseTokenInfo(b []byte) (TokenInfo, error) {
	var ti TokenInfo
	if _, err := asn1.Unmarshal(b, &ti); err != nil {
		return TokenInfo{}, fmt.Errorf("EF.TokenInfo: %w", err)
	}
	return ti, nil
}

// object splits a PKCS15Object into its common attributes, class
// attributes and the content of its [1] type attributes.
func object(el asn1.RawValue) (common, class, typ []byte, err error) {
	parts, err := Elements(el.Bytes)
	if err != nil {
		return nil, nil, nil, err
	}
	if len(parts) < 3 {
		return nil, nil, nil, errors.New("object has fewer than three parts")
	}
	for _, p := range parts[2:] {
		if p.Class == asn1.ClassContextSpecific && p.Tag == 1 && p.IsCompound {
			return parts[0].FullBytes, parts[1].FullBytes, p.Bytes, nil
		}
	}
	return nil, nil, nil, errors.New("object has no type attributes [1]")
}

// ParsePrKDF returns the RSA and EC private keys of a PrKDF; other kinds
// are skipped.
func ParsePrKDF(b []byte) ([]PrivateKey, error) {
	els, err := Elements(b)
	if err != nil {
		return nil, fmt.Errorf("PrKDF: %w", err)
	}
	var keys []PrivateKey
	for i, el := range els {
		var k PrivateKey
		switch {
		case el.Class == asn1.ClassUniversal && el.Tag == asn1.TagSequence:
			k.Type = KeyRSA
		case el.Class == asn1.ClassContextSpecific && el.Tag == 0 && el.IsCompound:
			k.Type = KeyEC
		default:
			continue
		}
		common, class, typ, err := object(el)
		if err != nil {
			return nil, fmt.Errorf("PrKDF: key %d: %w", i, err)
		}
		if err := unmarshalAll(common, &k.Common); err != nil {
			return nil, fmt.Errorf("PrKDF: key %d: common attributes: %w", i, err)
		}
		if err := unmarshalAll(class, &k.Key); err != nil {
			return nil, fmt.Errorf("PrKDF: key %d: key attributes: %w", i, err)
		}
		var attrs struct {
			Value         Path
			ModulusLength int `asn1:"optional"`
		}
		if err := unmarshalAll(typ, &attrs); err != nil {
			return nil, fmt.Errorf("PrKDF: key %d: type attributes: %w", i, err)
		}
		k.Path = attrs.Value
		if k.Type == KeyRSA {
			k.ModulusLength = attrs.ModulusLength
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// ParseCDF returns the X.509 certificates of a CDF; other kinds are
// skipped.
func ParseCDF(b []byte) ([]Certificate, error) {
	els, err := Elements(b)
	if err != nil {
		return nil, fmt.Errorf("CDF: %w", err)
	}
	var certs []Certificate
	for i, el := range els {
		if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSequence {
			continue // not an x509Certificate
		}
		var c Certificate
		common, class, typ, err := object(el)
		if err != nil {
			return nil, fmt.Errorf("CDF: certificate %d: %w", i, err)
		}
		if err := unmarshalAll(common, &c.Common); err != nil {
			return nil, fmt.Errorf("CDF: certificate %d: common attributes: %w", i, err)
		}
		if err := unmarshalAll(class, &c.Cert); err != nil {
			return nil, fmt.Errorf("CDF: certificate %d: certificate attributes: %w", i, err)
		}
		// X509CertificateAttributes ::= SEQUENCE { value ObjectValue, … };
		// ObjectValue is a Path (indirect) or [0] the certificate (direct).
		var attrs asn1.RawValue
		if err := unmarshalAll(typ, &attrs); err != nil {
			return nil, fmt.Errorf("CDF: certificate %d: type attributes: %w", i, err)
		}
		vals, err := Elements(attrs.Bytes)
		if err != nil || len(vals) == 0 {
			return nil, fmt.Errorf("CDF: certificate %d: no value", i)
		}
		switch v := vals[0]; {
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence:
			if err := unmarshalAll(v.FullBytes, &c.Path); err != nil {
				return nil, fmt.Errorf("CDF: certificate %d: path: %w", i, err)
			}
		case v.Class == asn1.ClassContextSpecific && v.Tag == 0:
			c.Direct = v.Bytes
		default:
			return nil, fmt.Errorf("CDF: certificate %d: value is neither a path nor direct", i)
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// ParseAODF returns the PIN objects of an AODF; other authentication
// objects (biometric, …) are skipped.
func ParseAODF(b []byte) ([]PIN, error) {
	els, err := Elements(b)
	if err != nil {
		return nil, fmt.Errorf("AODF: %w", err)
	}
	var pins []PIN
	for i, el := range els {
		if el.Class != asn1.ClassUniversal || el.Tag != asn1.TagSequence {
			continue
		}
		var p PIN
		common, class, typ, err := object(el)
		if err != nil {
			return nil, fmt.Errorf("AODF: PIN %d: %w", i, err)
		}
		if err := unmarshalAll(common, &p.Common); err != nil {
			return nil, fmt.Errorf("AODF: PIN %d: common attributes: %w", i, err)
		}
		if err := unmarshalAll(class, &p.Auth); err != nil {
			return nil, fmt.Errorf("AODF: PIN %d: authentication attributes: %w", i, err)
		}
		if err := unmarshalAll(typ, &p.Attrs); err != nil {
			return nil, fmt.Errorf("AODF: PIN %d: PIN attributes: %w", i, err)
		}
		pins = append(pins, p)
	}
	return pins, nil
}

func unmarshalAll(b []byte, v any) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("trailing data")
	}
	return nil
}

// Encoding, for the virtual card.

func must(b []byte, err error) []byte {
	if err != nil {
		// Only reachable with a type asn1 cannot encode: a programming
		// error in this file.
		panic("p15: " + err.Error())
	}
	return b
}

// EncodeDir encodes EF.DIR with one application template.
func EncodeDir(app Application) []byte {
	return must(asn1.MarshalWithParams(app, "application,tag:1"))
}

// EncodeODF encodes an ODF: entries tag → path, in the order given.
func EncodeODF(entries ...ODFEntry) []byte {
	var out []byte
	for _, e := range entries {
		inner := must(asn1.Marshal(e.Path))
		out = append(out, must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: e.Tag, IsCompound: true, Bytes: inner}))...)
	}
	return out
}

// ODFEntry is one entry of EncodeODF.
type ODFEntry struct {
	Tag  int
	Path Path
}

// EncodeTokenInfo encodes EF.TokenInfo with a manufacturer ID and empty
// token flags.
func EncodeTokenInfo(serial []byte, manufacturer string) []byte {
	return must(asn1.Marshal(struct {
		Version      int
		SerialNumber []byte
		Manufacturer string `asn1:"utf8"`
		Flags        asn1.BitString
	}{0, serial, manufacturer, asn1.BitString{Bytes: []byte{0x00}, BitLength: 0}}))
}

// encodeObject builds a PKCS15Object with the given outer tag.
func encodeObject(outer asn1.RawValue, common, class, typ any) []byte {
	body := must(asn1.Marshal(common))
	body = append(body, must(asn1.Marshal(class))...)
	body = append(body, must(asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true,
		Bytes: must(asn1.Marshal(typ))}))...)
	outer.IsCompound = true
	outer.Bytes = body
	return must(asn1.Marshal(outer))
}

// EncodePrivateKey encodes one PrKDF entry.
func EncodePrivateKey(k PrivateKey) []byte {
	outer := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence}
	if k.Type == KeyEC {
		outer = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0}
	}
	var typ any
	if k.Type == KeyRSA {
		typ = struct {
			Value         Path
			ModulusLength int
		}{k.Path, k.ModulusLength}
	} else {
		typ = struct{ Value Path }{k.Path}
	}
	return encodeObject(outer, k.Common, k.Key, typ)
}

// EncodeCertificate encodes one CDF entry pointing at c.Path.
func EncodeCertificate(c Certificate) []byte {
	return encodeObject(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence}, c.Common, c.Cert,
		struct{ Value Path }{c.Path})
}

// EncodePIN encodes one AODF entry.
func EncodePIN(p PIN) []byte {
	return encodeObject(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence}, p.Common, p.Auth, p.Attrs)
}

// Flags returns a BIT STRING with the given bits set.
func Flags(bits ...int) asn1.BitString {
	n := 0
	for _, b := range bits {
		n = max(n, b+1)
	}
	bs := asn1.BitString{Bytes: make([]byte, (n+7)/8), BitLength: n}
	for _, b := range bits {
		bs.Bytes[b/8] |= 0x80 >> (b % 8)
	}
	return bs
}
