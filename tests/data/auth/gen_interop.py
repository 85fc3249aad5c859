#!/usr/bin/env python3
"""Makes the interop fixtures: JWTs signed by an independent JWS
implementation (Python + pyca/cryptography), which test_auth_token.c must
accept.  Run from this directory; needs the `cryptography` package."""
import base64, json
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def part(obj):
    return b64u(json.dumps(obj, separators=(",", ":")).encode())

CLAIMS = {"iss": "ext-issuer", "sub": "dave", "aud": "customs",
          "exp": 4102444800, "nbf": 1700000000, "iat": 1700000000,
          "jti": "interop-1",
          "access": [{"type": "repository", "name": "team/app",
                      "actions": ["pull", "push"]}]}

def pub_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM,
        serialization.PublicFormat.SubjectPublicKeyInfo)

ec_key = ec.generate_private_key(ec.SECP256R1())
inp = part({"typ": "JWT", "alg": "ES256"}) + "." + part(CLAIMS)
r, s = decode_dss_signature(ec_key.sign(inp.encode(), ec.ECDSA(hashes.SHA256())))
es = inp + "." + b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
inp = part({"typ": "JWT", "alg": "RS256"}) + "." + part(CLAIMS)
rs = inp + "." + b64u(rsa_key.sign(inp.encode(), padding.PKCS1v15(), hashes.SHA256()))

open("interop_trust.pem", "wb").write(pub_pem(ec_key) + pub_pem(rsa_key))
open("interop_es256.jwt", "w").write(es + "\n")
open("interop_rs256.jwt", "w").write(rs + "\n")
