#!/usr/bin/env python3
"""Replay stek-handshake.json with a minimal Noise_XXpsk0_25519_ChaChaPoly_SHA256
(Noise revision 34) written from the specification on pyca/cryptography --
no libstek, no libsodium -- and also derive each device's id and X25519
static key pair from its Ed25519 seed.  Prints ok/FAIL per vector.

    python3 tests/vectors/noise/check.py tests/vectors/noise/stek-handshake.json
"""
import hashlib, hmac, json, sys
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw

def pub(sk): return X25519PrivateKey.from_private_bytes(sk).public_key().public_bytes(*RAW)
def dh(sk, pk): return X25519PrivateKey.from_private_bytes(sk).exchange(X25519PublicKey.from_public_bytes(pk))
def H(b): return hashlib.sha256(b).digest()

P = 2**255 - 19
def device(seed):
    """Ed25519 id, and the X25519 pair crypto_sign_ed25519_{sk,pk}_to_curve25519
    derive: the clamped first half of SHA-512(seed); u = (1 + y) / (1 - y)."""
    pk = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(*RAW)
    x = bytearray(hashlib.sha512(seed).digest()[:32])
    x[0] &= 248; x[31] &= 127; x[31] |= 64
    y = int.from_bytes(pk, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, P - 2, P) % P
    return pk, bytes(x), u.to_bytes(32, "little")
def hkdf(ck, ikm, n):
    t = hmac.new(ck, ikm, hashlib.sha256).digest()
    outs, prev = [], b""
    for i in range(1, n + 1):
        prev = hmac.new(t, prev + bytes([i]), hashlib.sha256).digest()
        outs.append(prev)
    return outs

class State:
    def __init__(self, initiator, prologue, psk, s, e):
        name = b"Noise_XXpsk0_25519_ChaChaPoly_SHA256"
        self.h = name if len(name) <= 32 else H(name)
        self.h = self.h.ljust(32, b"\0")
        self.ck = self.h
        self.k = None; self.n = 0
        self.mix_hash(prologue)
        self.initiator, self.psk, self.s, self.e = initiator, psk, s, e
        self.rs = self.re = None
    def mix_hash(self, b): self.h = H(self.h + b)
    def mix_key(self, ikm):
        self.ck, k = hkdf(self.ck, ikm, 2); self.k, self.n = k, 0
    def mix_key_and_hash(self, ikm):
        self.ck, th, k = hkdf(self.ck, ikm, 3); self.mix_hash(th); self.k, self.n = k, 0
    def enc(self, p):
        if self.k is None: self.mix_hash(p); return p
        c = ChaCha20Poly1305(self.k).encrypt(bytes(4) + self.n.to_bytes(8, "little"), p, self.h)
        self.n += 1; self.mix_hash(c); return c
    def dec(self, c):
        if self.k is None: self.mix_hash(c); return c
        p = ChaCha20Poly1305(self.k).decrypt(bytes(4) + self.n.to_bytes(8, "little"), c, self.h)
        self.n += 1; self.mix_hash(c); return p
    def split(self): return hkdf(self.ck, b"", 2)

def run(v, payloads):
    pro = bytes.fromhex(v["prologue"]); psk = bytes.fromhex(v["psk"])
    i = State(True, pro, psk, bytes.fromhex(v["init_static"]), bytes.fromhex(v["init_ephemeral"]))
    r = State(False, pro, psk, bytes.fromhex(v["resp_static"]), bytes.fromhex(v["resp_ephemeral"]))
    msgs = []
    # -> psk, e
    i.mix_key_and_hash(psk); ie = pub(i.e); m = ie; i.mix_hash(ie); i.mix_key(ie); m += i.enc(payloads[0])
    r.mix_key_and_hash(psk); r.re = m[:32]; r.mix_hash(r.re); r.mix_key(r.re); assert r.dec(m[32:]) == payloads[0]
    msgs.append(m)
    # <- e, ee, s, es
    re_ = pub(r.e); m = re_; r.mix_hash(re_); r.mix_key(re_); r.mix_key(dh(r.e, r.re))
    m += r.enc(pub(r.s)); r.mix_key(dh(r.s, r.re)); m += r.enc(payloads[1])
    i.re = m[:32]; i.mix_hash(i.re); i.mix_key(i.re); i.mix_key(dh(i.e, i.re))
    i.rs = i.dec(m[32:80]); i.mix_key(dh(i.e, i.rs)); assert i.dec(m[80:]) == payloads[1]
    msgs.append(m)
    # -> s, se
    m = i.enc(pub(i.s)); i.mix_key(dh(i.s, i.re)); m += i.enc(payloads[2])
    r.rs = r.dec(m[:48]); r.mix_key(dh(r.e, r.rs)); assert r.dec(m[48:]) == payloads[2]
    msgs.append(m)
    assert i.h == r.h
    k1, k2 = i.split()
    assert (k1, k2) == tuple(r.split())
    return msgs, i.h, k1, k2

if __name__ == "__main__":
    doc = json.load(open(sys.argv[1]))
    for v in doc["vectors"]:
        payloads = [bytes.fromhex(v["msg%d_payload" % (n + 1)]) for n in range(3)]
        msgs, h, k1, k2 = run(v, payloads)
        ids = [device(bytes.fromhex(v[side + "_sign_seed"])) for side in ("init", "resp")]
        ok = all(ids[k][0].hex() == v[side + "_device_id"] and
                 ids[k][1].hex() == v[side + "_static"] and
                 ids[k][2].hex() == v[side + "_static_public"]
                 for k, side in enumerate(("init", "resp")))
        ok = ok and all(msgs[n].hex() == v["msg%d_ciphertext" % (n + 1)] for n in range(3)) and \
            h.hex() == v["handshake_hash"] and k1.hex() == v["initiator_send_key"] and \
            k2.hex() == v["responder_send_key"] and \
            pub(bytes.fromhex(v["init_static"])).hex() == v["init_static_public"] and \
            pub(bytes.fromhex(v["resp_static"])).hex() == v["resp_static_public"]
        print(("ok   " if ok else "FAIL ") + v["name"])
        if not ok: sys.exit(1)
