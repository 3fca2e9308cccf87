#!/usr/bin/env bash
# Makes a RAUC signing PKI for development and tests: a CA (the keyring a
# station trusts) and a signing certificate and key issued by it.
#   images/rauc/make-keys.sh OUTDIR [NAME]
# Writes OUTDIR/ca.cert.pem (the keyring), ca.key.pem, signing.cert.pem,
# signing.key.pem. A station's real CA key is kept offline (docs/appliance.md,
# "Key handling"); keys made here are throwaway keys and say so in their names.
set -euo pipefail
out=${1:?usage: $0 OUTDIR [NAME]} name=${2:-Kortstation development}
mkdir -p "$out"
umask 077
cfg=$out/openssl.cnf
cat > "$cfg" <<CNF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[signing]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
	-keyout "$out/ca.key.pem" -out "$out/ca.cert.pem" \
	-subj "/O=$name/CN=$name update CA" -config "$cfg" -extensions ca 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$out/signing.key.pem" -out "$out/signing.csr" \
	-subj "/O=$name/CN=$name update signing" -config "$cfg" 2>/dev/null
openssl x509 -req -in "$out/signing.csr" -CA "$out/ca.cert.pem" -CAkey "$out/ca.key.pem" \
	-CAcreateserial -days 1825 -out "$out/signing.cert.pem" -extfile "$cfg" -extensions signing 2>/dev/null
rm -f "$out/signing.csr" "$out/ca.cert.srl" "$cfg"
chmod 0644 "$out/ca.cert.pem" "$out/signing.cert.pem"
