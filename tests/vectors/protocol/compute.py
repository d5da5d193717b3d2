#!/usr/bin/env python3
"""Compute the test vectors of docs/PROTOCOL.md §7 (space share), §9
(invitation token) and §12 (blind relay) independently of libstek and of
libsodium: Python's hashlib (BLAKE2b, with key, salt and person for
crypto_kdf_derive_from_key) and pyca/cryptography (ChaCha20-Poly1305; the
XChaCha20 subkey by a HChaCha20 written here, checked against the XChaCha
draft's vector).  Prints them in the document's format; tests/test_vectors.c
reads the document and checks libstek against them.

    python3 tests/vectors/protocol/compute.py
"""
import hashlib, struct
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

def kdf(key, i, ctx):  # crypto_kdf_derive_from_key (libsodium, BLAKE2b)
    return hashlib.blake2b(b"", digest_size=32, key=key,
                           salt=i.to_bytes(8, "little") + bytes(8),
                           person=ctx.encode() + bytes(8)).digest()

def rotl(x, n): return ((x << n) | (x >> (32 - n))) & 0xffffffff
def qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)
def hchacha20(key, n16):
    s = list(struct.unpack("<4I", b"expand 32-byte k")) + list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", n16))
    for _ in range(10):
        qr(s,0,4,8,12); qr(s,1,5,9,13); qr(s,2,6,10,14); qr(s,3,7,11,15)
        qr(s,0,5,10,15); qr(s,1,6,11,12); qr(s,2,7,8,13); qr(s,3,4,9,14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))
def xchacha_seal(key, nonce24, ad, msg):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(bytes(4) + nonce24[16:], msg, ad)

space_key = bytes(range(32))
# sanity: §10's k_beacon
assert kdf(space_key, 4, "stek-bcn").hex() == "58c631f75af05a053f11ff79a22e797481896c03ff81ea3fdf75905cde88b80a"
# XChaCha20-Poly1305 sanity: libsodium / draft-irtf-cfrg-xchacha test vector (A.3.1)
k = bytes(range(0x80, 0xa0)); n = bytes.fromhex("404142434445464748494a4b4c4d4e4f5051525354555657")
ad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
pt = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
ct = xchacha_seal(k, n, ad, pt)
assert ct[-16:].hex() == "c0875924c1c7987947deafd8780acf49", ct[-16:].hex()

def wrap(label, h):
    out = label + ": " + h[:64]
    for i in range(64, len(h), 64): out += "\n  " + h[i:i+64]
    return out

# §9 invitation
secret = bytes(range(16))
digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
v = int.from_bytes(secret, "big") << 2
d = "".join(digits[(v >> (5 * (25 - i))) & 31] for i in range(26))
token = "STEK-" + "-".join(d[i:i+4] for i in range(0, 26, 4))
psk = hashlib.blake2b(b"stek-invite-v1" + secret, digest_size=32).digest()
print("== §9"); print("secret: " + secret.hex()); print("token: " + token); print("psk: " + psk.hex())

# §7 space share inner
def mp_bin(b): return (bytes([0xc4, len(b)]) if len(b) < 256 else bytes([0xc5]) + len(b).to_bytes(2, "big")) + b
def mp_str(s): s = s.encode(); assert len(s) < 32; return bytes([0xa0 | len(s)]) + s
space = bytes(range(0xa0, 0xb0))
inner = bytes([0x95, 0x01]) + mp_bin(space) + mp_str("Bezemheide") + mp_bin(space_key) + bytes([0x90])
print("== §7"); print(wrap("inner", inner.hex()))

# §12 relay
k_relay = kdf(space_key, 11, "stek-rly")
tag = hashlib.blake2b(b"tag", digest_size=16, key=k_relay).digest()
rpsk = hashlib.blake2b(b"psk", digest_size=32, key=k_relay).digest()
k_ops = kdf(space_key, 12, "stek-ops")
share_inner = bytes([0x93, 0x01]) + mp_bin(tag) + mp_bin(k_relay)
# §15's put-one-field change
wire = bytes.fromhex("""9301c4679501c410a0a1a2a3a4a5a6a7a8a9aaabacadaeafc42003a107bff3ce
  10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8cf019b76daa8
  000007919400a96469726563746f7279c410101112131415161718191a1b1c1d
  1e1f81a36f7267a3434157c44024d7185b2bfebc14c034a7bdd92d4cc4d454d4
  14feabd38be11ab6aff1101936332f6f40971fa44b2014a25bb5647bf4f554cb
  4f751cb3358ba3cc1a6f9a5904""".replace("\n", "").replace(" ", ""))
body = wire[4:4 + 0x67]
cid = hashlib.blake2b(body, digest_size=32).digest()
assert cid.hex() == "1f7a1333ec893553362c0803e1fe1f592460087483630ff6e253b49d72cded2b"
ts = 115816896921600007
sealed = xchacha_seal(k_ops, cid[:24], cid + ts.to_bytes(8, "big"), wire)
msg = bytes([0x93, 0x07, 0x91, 0x93, 0xcf]) + ts.to_bytes(8, "big") + mp_bin(cid) + mp_bin(sealed) + bytes([0x01])
print("== §12")
for lab, b in [("k_relay", k_relay), ("tag", tag), ("psk", rpsk), ("k_ops", k_ops), ("share_inner", share_inner), ("sealed", sealed), ("message", msg)]:
    print(wrap(lab, b.hex()))
