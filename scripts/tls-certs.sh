#!/usr/bin/env bash
# Certificates for the nodes' HTTPS API, with OpenSSL 3 (deploy/README.md, "TLS").
#
#   bash scripts/tls-certs.sh ca DIR
#       DIR/ca.pem (the consortium CA certificate: give it to every client) and DIR/ca.key
#       (keep it offline). ECDSA P-256, ten years.
#   bash scripts/tls-certs.sh node DIR NAME SAN...
#       DIR/NAME.tls.crt and DIR/NAME.tls.key (mode 0600) signed by DIR/ca.key, for the
#       names and addresses SAN (e.g. DNS:health-1.weinong.internal IP:10.20.0.2).
#       Two years (825 days); re-run to renew, then `systemctl reload weinong-node@NAME`
#       (SIGHUP) — the node swaps the certificate without a restart.
#
# International algorithms (ECDSA, AES-GCM) on purpose: see ARCHITECTURE.md, threat model,
# "Channels and their algorithms".
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 ca DIR | node DIR NAME SAN..." >&2; exit 2; }
mkdir -p "$dir"
case "$cmd" in
  ca)
    [ ! -e "$dir/ca.key" ] || { echo "$dir/ca.key exists: refusing to replace a CA" >&2; exit 1; }
    (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key")
    openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 -out "$dir/ca.pem" \
      -subj "/O=Weinong consortium/CN=Weinong consortium CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign"
    ;;
  node)
    name="${3:-}"
    [ -n "$name" ] && [ $# -ge 4 ] || { echo "usage: $0 node DIR NAME SAN... (e.g. IP:10.20.0.2)" >&2; exit 2; }
    shift 3
    san=$(IFS=,; echo "$*")
    [ -f "$dir/ca.key" ] || { echo "$dir/ca.key is missing: run '$0 ca $dir' first" >&2; exit 1; }
    (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.tls.key")
    ext=$(mktemp)
    trap 'rm -f "$ext" "$dir/$name.csr"' EXIT
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n' "$san" > "$ext"
    openssl req -new -key "$dir/$name.tls.key" -out "$dir/$name.csr" -subj "/O=Weinong consortium/CN=$name"
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
      -sha256 -days 825 -extfile "$ext" -out "$dir/$name.tls.crt" 2>/dev/null
    ;;
  *)
    echo "unknown command $cmd: ca or node" >&2; exit 2
    ;;
esac
