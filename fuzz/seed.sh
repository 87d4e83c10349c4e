#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds: for the latch-ctap targets, requests and answers built
# below; for the latch-webauthn targets, cases from the shared conformance corpus
# (../shared/conformance beside the repository, or $LATCH_CONFORMANCE_DIR).
# The corpus directories are gitignored; re-run this after a clean checkout.
set -euo pipefail
cd "$(dirname "$0")"
# latch-ctap targets: seeds built here from real requests and answers (no corpus needed).
python3 - <<'PY'
import hashlib, os, struct

def head(major, n):
    if n < 24: return bytes([major << 5 | n])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size): return bytes([major << 5 | info]) + n.to_bytes(size, "big")

def cbor(v):
    """Canonical CTAP2 CBOR of ints, bytes, str, list, dict, bool, None."""
    if v is None: return b"\xf6"
    if v is True: return b"\xf5"
    if v is False: return b"\xf4"
    if isinstance(v, int): return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes): return head(2, len(v)) + v
    if isinstance(v, str): b = v.encode(); return head(3, len(b)) + b
    if isinstance(v, list): return head(4, len(v)) + b"".join(cbor(x) for x in v)
    if isinstance(v, dict):
        items = sorted(((cbor(k), cbor(x)) for k, x in v.items()),
                       key=lambda kv: (kv[0][0] >> 5, len(kv[0]), kv[0]))
        return head(5, len(items)) + b"".join(k + x for k, x in items)
    raise TypeError(v)

def put(target, name, data):
    os.makedirs(os.path.join("corpus", target), exist_ok=True)
    with open(os.path.join("corpus", target, name), "wb") as f: f.write(data)

# CTAPHID framing, as hid::split does it.
def split(cid, cmd, payload):
    out = [struct.pack(">IBH", cid, cmd | 0x80, len(payload)) + payload[:57]]
    rest, seq = payload[57:], 0
    while rest:
        out.append(struct.pack(">IB", cid, seq) + rest[:59]); rest, seq = rest[59:], seq + 1
    return [r.ljust(64, b"\0") for r in out]

PING, MSG, LOCK, INIT, WINK, CBOR, CANCEL = 0x01, 0x03, 0x04, 0x06, 0x08, 0x10, 0x11
BCAST, CID = 0xFFFFFFFF, 1   # the ctaphid target hands out CIDs 1, 2, 3, ...

CDH = bytes([0xCD]) * 32
RP = {"id": "example.com", "name": "Example"}
USER = {"id": b"user-1", "name": "ada", "displayName": "Ada"}
ES256 = [{"alg": -7, "type": "public-key"}, {"alg": -8, "type": "public-key"}]
get_info = b"\x04"
make_cred = b"\x01" + cbor({1: CDH, 2: RP, 3: USER, 4: ES256})
make_cred_rk = b"\x01" + cbor({1: CDH, 2: RP, 3: USER, 4: ES256, 7: {"rk": True},
    6: {"credProtect": 2, "hmac-secret": True, "credBlob": b"blob", "largeBlobKey": True,
        "minPinLength": True}})
make_cred_pin_probe = b"\x01" + cbor({1: CDH, 2: RP, 3: USER, 4: ES256, 8: b"", 9: 2})
get_assertion = b"\x02" + cbor({1: "example.com", 2: CDH})
get_assertion_ext = b"\x02" + cbor({1: "example.com", 2: CDH, 5: {"up": False},
    4: {"credBlob": True, "largeBlobKey": True}})
get_next = b"\x08"
pin_retries = b"\x06" + cbor({1: 2, 2: 1})
key_agreement = b"\x06" + cbor({1: 2, 2: 2})
uv_retries = b"\x06" + cbor({1: 2, 2: 7})
cred_metadata = b"\x0a" + cbor({1: 1, 3: 2, 4: bytes(32)})
cred_rps_pre = b"\x41" + cbor({1: 2, 3: 1, 4: bytes(16)})
large_blob_get = b"\x0c" + cbor({1: 1024, 3: 0})
config_always_uv = b"\x0d" + cbor({1: 2, 3: 2, 4: bytes(32)})
selection, reset = b"\x0b", b"\x07"
requests = [get_info, make_cred, make_cred_rk, make_cred_pin_probe, get_assertion,
            get_assertion_ext, get_next, pin_retries, key_agreement, uv_retries, cred_metadata,
            cred_rps_pre, large_blob_get, config_always_uv, selection, reset]

# ctaphid: records ctl | delta | report. ctl & 3: 0 answer short, 1 long, 2 hold, 3 cancel
# status; bit 2 skip draining; bits 3-5 repeat exponent; bit 6 run timers; bit 7 UpNeeded.
def rec(ctl, delta, report): return bytes([ctl, delta]) + report
init = split(BCAST, INIT, bytes(range(1, 9)))
session = [rec(0, 0, r) for r in init]
session += [rec(0, 1, r) for r in split(CID, PING, b"hello latch" * 10)]
session += [rec(0, 1, r) for r in split(CID, CBOR, get_info)]
session += [rec(1, 1, r) for r in split(CID, CBOR, make_cred)]
session += [rec(0, 1, r) for r in split(CID, WINK, b"")]
session += [rec(0, 1, r) for r in split(CID, LOCK, b"\x02")]
session += [rec(0, 1, r) for r in split(CID, MSG, bytes.fromhex("0003000000"))]
put("ctaphid", "session", b"".join(session))
held = [rec(0, 0, r) for r in init]
held += [rec(2, 5, r) for r in split(CID, CBOR, make_cred)]
held += [rec(0x42 | 0x80, 90, r) for r in split(CID, CANCEL, b"")]
held += [rec(2, 5, r) for r in split(CID, CBOR, get_info)]
held += [rec(0, 100, r) for r in split(CID, INIT, bytes(8))]
held += [rec(0, 1, r) for r in split(CID, PING, b"x")]
put("ctaphid", "held-cancel-resync", b"".join(held))
busy = [rec(0, 0, r) for r in init] + [rec(0, 0, r) for r in init]  # two channels: 1, 2
busy += [rec(0, 1, split(CID, PING, bytes(100))[0])]                # half a message on 1
busy += [rec(0, 1, r) for r in split(2, PING, b"busy?")]
busy += [rec(0x40, 200, split(CID, PING, bytes(100))[1])]           # too late: timed out
busy += [rec(0, 1, split(CID, PING, bytes(200))[1])]                # stray continuation
put("ctaphid", "busy-timeout", b"".join(busy))
flood = [rec(0, 0, r) for r in init]
flood += [rec(0x04 | 7 << 3, 0, r) for r in split(CID, WINK, b"")] * 2
flood += [rec(0x04 | 7 << 3, 0, r) for r in split(CID, PING, bytes(57))] * 9
flood += [rec(0, 0, r) for r in split(CID, PING, b"after")]
put("ctaphid", "flood-queues", b"".join(flood))
put("ctaphid", "init-storm", b"".join(rec(0x38, 0, r) for r in init) * 2)

# ctaphid_roundtrip: selector | payload (selector & 3: CBOR, MSG, PING).
for name, sel, payload in [("getinfo", 0, get_info), ("makecred", 0, make_cred_rk),
                           ("u2f-version", 1, bytes.fromhex("00030000000000")),
                           ("ping-57", 2, bytes(range(57))), ("ping-58", 2, bytes(range(58))),
                           ("ping-117", 2, bytes(range(117))),
                           ("max", 0, bytes(i % 251 for i in range(7609)))]:
    put("ctaphid_roundtrip", name, bytes([sel]) + payload)

# ctap2_command: flags | (advance | len u16 | message)*. flags: bit 0 PIN set, bit 1 built-in
# UV, bit 2 batch attestation, bits 3-4 presence answer, bit 5 alwaysUv.
def msgs(*ms, advance=0): return b"".join(bytes([advance]) + struct.pack(">H", len(m)) + m for m in ms)
for name, flags, ms in [
        ("info", 0, [get_info]),
        ("register-login", 0, [make_cred_rk, get_assertion, get_next, get_assertion_ext]),
        ("pin-set", 1, [get_info, pin_retries, make_cred_pin_probe, make_cred, cred_metadata]),
        ("uv-attestation", 6, [get_info, make_cred_rk, get_assertion, uv_retries]),
        ("denied", 8, [make_cred, selection, reset]),
        ("always-uv", 0x21, [get_info, make_cred, config_always_uv]),
        ("everything", 4, requests)]:
    put("ctap2_command", name, bytes([flags]) + msgs(*ms))
put("ctap2_command", "reset-late", b"\x00" + msgs(make_cred_rk) + msgs(reset, advance=0x70)
    + msgs(get_info, advance=0x7F))
# advance bit 7: the harness fills in pinUvAuthParam with its token; 0x7E: fetch a new token
# for example.com, 0x7D: one for no RP.
AUTH, FRESH = 0x80, 0xFE
RP_HASH = hashlib.sha256(b"example.com").digest()
blob_array = cbor([{1: bytes(32), 2: bytes(12), 3: 10}])
blob_array += hashlib.sha256(blob_array).digest()[:16]
put("ctap2_command", "pin-authenticated", b"\x01" + b"".join([
    msgs(make_cred_rk, advance=AUTH), msgs(get_assertion_ext, advance=FRESH),
    msgs(b"\x0a" + cbor({1: 1}), advance=0xFD), msgs(b"\x0a" + cbor({1: 2}), advance=AUTH),
    msgs(b"\x0a" + cbor({1: 3})),
    msgs(b"\x0a" + cbor({1: 4, 2: {1: RP_HASH}}), advance=AUTH), msgs(b"\x0a" + cbor({1: 5})),
    msgs(b"\x0a" + cbor({1: 7, 2: {2: {"id": bytes(16), "type": "public-key"},
                                     3: {"id": b"user-1", "name": "bob"}}}), advance=AUTH),
    msgs(b"\x0a" + cbor({1: 6, 2: {2: {"id": bytes(16), "type": "public-key"}}}), advance=AUTH),
    msgs(b"\x0c" + cbor({2: blob_array, 3: 0, 4: len(blob_array)}), advance=AUTH),
    msgs(b"\x0c" + cbor({1: 100, 3: 0})),
    msgs(b"\x0d" + cbor({1: 3, 2: {1: 6, 2: ["example.com"]}}), advance=FRESH),
    msgs(b"\x0d" + cbor({1: 2}), advance=AUTH), msgs(b"\x0d" + cbor({1: 1}), advance=AUTH),
    msgs(get_info)]))

# u2f_apdu: flags | (kind | len u16 | bytes)*; kind bit 0 builds an authenticate over the last
# registered key handle with P1 = bytes[0].
def apdu_ext(ins, p1, data): return bytes([0, ins, p1, 0, 0]) + struct.pack(">H", len(data)) + data + b"\0\0"
def apdu_short(ins, p1, data): return bytes([0, ins, p1, 0, len(data)]) + data
APP = hashlib.sha256(b"https://example.com").digest()
reg = apdu_ext(1, 0, bytes(32) + APP)
def recs(*rs): return b"".join(bytes([k]) + struct.pack(">H", len(b)) + b for k, b in rs)
put("u2f_apdu", "version", b"\0" + recs((0, bytes.fromhex("00030000")), (0, apdu_ext(3, 0, b""))))
put("u2f_apdu", "register-authenticate", b"\0" + recs((0, reg), (1, b"\x03"), (1, b"\x07"),
    (1, b"\x08"), (3, b"\x03"), (1, b"\x03\x05\x01")))
put("u2f_apdu", "short-register", b"\0" + recs((0, apdu_short(1, 0, bytes(32) + APP))))
put("u2f_apdu", "unknown-handle", b"\0" + recs((0, apdu_ext(2, 3, bytes(32) + APP + b"\x10" + bytes(16)))))
put("u2f_apdu", "denied", b"\1" + recs((0, reg)))

# client_responses: mode | ops (4) | rest.
info = {1: ["U2F_V2", "FIDO_2_0", "FIDO_2_1"], 2: ["credProtect", "hmac-secret", "largeBlobKey",
        "credBlob", "minPinLength"], 3: bytes([0xAA]) * 16,
        4: {"rk": True, "up": True, "plat": False, "clientPin": True, "credMgmt": True,
            "largeBlobs": True, "pinUvAuthToken": True, "credentialMgmtPreview": True,
            "uv": True}, 5: 7609, 6: [2, 1], 7: 16, 8: 128, 9: ["usb"],
        0x0A: [{"alg": -7, "type": "public-key"}, {"alg": -8, "type": "public-key"}],
        0x0B: 4096, 0x0C: False, 0x0D: 4, 0x0E: 1, 0x0F: 32, 0x10: 8, 0x14: 16}
info_body = cbor(info)
auth_data = (hashlib.sha256(b"example.com").digest() + b"\x45" + b"\0\0\0\1" + bytes([0xAA]) * 16
             + b"\0\x10" + bytes(range(16))
             + cbor({1: 2, 3: -7, -1: 1, -2: bytes(32), -3: bytes(32)}))
made = cbor({1: "none", 2: auth_data, 3: {}})
assertion = cbor({1: {"id": bytes(range(16)), "type": "public-key"}, 2: auth_data[:37],
                  3: b"\x30\x06\x02\x01\x01\x02\x01\x01", 4: {"id": b"user-1", "name": "ada"},
                  5: 2})
rp = cbor({3: {"id": "example.com", "name": "Example"}, 4: hashlib.sha256(b"example.com").digest(),
           5: 1})
cred = cbor({6: {"id": b"user-1"}, 7: {"id": bytes(16), "type": "public-key"},
             8: {1: 2, 3: -7}, 9: 1, 0x0A: 2, 0x0B: bytes(32)})
empty_blobs = bytes.fromhex("8076be8b528d0075f7aae98d6fa57a6d3c")
u2f_reg = (b"\x05\x04" + bytes(64) + b"\x10" + bytes(16)
           + bytes.fromhex("3003020100") + b"\x30\x06\x02\x01\x01\x02\x01\x01")
def answers(*bodies): return b"".join(struct.pack(">H", len(b)) + b for b in bodies)
put("client_responses", "info", b"\0" + bytes(4) + info_body)
put("client_responses", "u2f-registration", b"\0" + bytes(4) + u2f_reg + b"\x90\x00")
put("client_responses", "blob-array", b"\0" + bytes(4) + empty_blobs)
put("client_responses", "made-authdata", b"\0" + bytes(4) + auth_data)
put("client_responses", "ctap2-calls", b"\1" + bytes([1, 2, 5, 6]) + answers(
    b"\0" + info_body, b"\0" + made, b"\0" + assertion, b"\0" + assertion[:-2] + b"\x05\x01",
    b"\0" + rp, b"\0" + cred))
put("client_responses", "ctap2-blobs-pin", b"\1" + bytes([7, 10, 11, 16]) + answers(
    b"\0" + info_body, b"\0" + cbor({1: empty_blobs}), b"\0" + cbor({3: 8, 4: False}),
    b"\0" + cbor({5: 8}), b"\0" + cbor({1: {1: 2, 3: -25, -1: 1, -2: bytes(32), -3: bytes(32)}}),
    b"\0" + made))
put("client_responses", "ctap2-errors", b"\1" + bytes([3, 4, 14, 19]) + answers(
    b"\0" + info_body, b"\x2e", b"\x33", b"\x31", b"\0" + cbor({3: 7}), b"\x69\x85",
    b"U2F_V2\x90\x00", u2f_reg + b"\x90\x00"))
HID_CID = 0x10000001
hid_init = split(BCAST, INIT, bytes([7]) * 8 + struct.pack(">IBBBBB", HID_CID, 2, 1, 0, 0, 0x05))
hid = hid_init + split(HID_CID, PING, bytes([0x55]) * 100)
hid += split(HID_CID, 0x3B, b"\x02") + split(HID_CID, 0x3B, b"\x01") + split(HID_CID, WINK, b"")
hid += split(HID_CID, 0x3F, b"\x06") + split(HID_CID, LOCK, b"")
hid += split(HID_CID, CBOR, b"\0" + info_body) + split(HID_CID, MSG, b"U2F_V2\x90\x00")
put("client_responses", "hid", b"\2" + bytes([0, 1, 2, 3]) + b"".join(hid))
put("client_responses", "hid-ctap2", b"\2" + bytes([6, 4, 0x86, 0]) + b"".join(
    hid_init + split(HID_CID, CBOR, b"\0" + info_body) + split(HID_CID, 0x3B, b"\x02")
    + split(HID_CID, CBOR, b"\0" + info_body) + split(HID_CID, MSG, b"U2F_V2\x90\x00")))

# store_state: StoreState::to_bytes output.
pin = {1: hashlib.sha256(b"1234").digest()[:16], 2: 8, 3: 4, 4: 4, 5: False}
credential = {1: bytes(16), 2: "example.com", 3: b"user-1", 4: "ada", 5: None,
              6: bytes([1]) * 32, 7: 1000, 8: 2, 9: True, 10: False, 11: b"blob"}
put("store_state", "default", cbor({1: [], 2: 0, 3: None, 4: None, 5: empty_blobs, 6: False, 7: []}))
put("store_state", "full", cbor({1: [credential, {**credential, 1: bytes(17), 11: None}],
    2: 42, 3: pin, 4: bytes(32), 5: empty_blobs, 6: True, 7: ["example.com"]}))
print("ctap seeds: " + " ".join(
    f"{t}={len(os.listdir(os.path.join('corpus', t)))}" for t in
    ["ctaphid", "ctaphid_roundtrip", "ctap2_command", "u2f_apdu", "client_responses", "store_state"]))
PY

conformance="${LATCH_CONFORMANCE_DIR:-../../shared/conformance}"
if [ ! -d "$conformance/registration" ]; then
  echo "seed.sh: no conformance corpus at $conformance (set LATCH_CONFORMANCE_DIR)" >&2
  exit 1
fi

python3 - "$conformance" <<'PY'
import base64, datetime, glob, json, os, sys

conformance = sys.argv[1]
targets = ["client_data", "authenticator_data", "attestation_object", "cose_key",
           "registration_json", "authentication_json"]
for t in targets:
    os.makedirs(os.path.join("corpus", t), exist_ok=True)

def b64(text):
    text = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

def cbor_end(buf, i):
    """Offset just past the CBOR data item that starts at buf[i] (enough of RFC 8949 for
    authenticator data: all major types, definite and indefinite lengths)."""
    ib = buf[i]; major, info = ib >> 5, ib & 31; i += 1
    if info < 24: arg = info
    elif info in (24, 25, 26, 27):
        n = 1 << (info - 24); arg = int.from_bytes(buf[i:i + n], "big"); i += n
    elif info == 31: arg = None
    else: raise ValueError("reserved additional info")
    if major in (0, 1, 7): return i
    if major in (2, 3):
        if arg is not None: return i + arg
        while buf[i] != 0xff: i = cbor_end(buf, i)
        return i + 1
    if major == 6: return cbor_end(buf, i)
    items = arg * (2 if major == 5 else 1) if arg is not None else None
    if items is None:
        while buf[i] != 0xff: i = cbor_end(buf, i)
        return i + 1
    for _ in range(items): i = cbor_end(buf, i)
    return i

def cbor_map_bytes(buf, wanted):
    """The byte-string value of text key `wanted` in the top-level CBOR map `buf`."""
    ib = buf[0]; assert ib >> 5 == 5
    info = ib & 31; i = 1
    if info < 24: n = info
    else:
        k = 1 << (info - 24); n = int.from_bytes(buf[1:1 + k], "big"); i += k
    for _ in range(n):
        kend = cbor_end(buf, i); key = buf[i:kend]; vend = cbor_end(buf, kend)
        if key[0] >> 5 == 3:
            kinfo = key[0] & 31
            text = key[1 + (0 if kinfo < 24 else 1 << (kinfo - 24)):]
            if text == wanted.encode():
                v = buf[kend:vend]; vinfo = v[0] & 31
                return v[1 + (0 if vinfo < 24 else 1 << (vinfo - 24)):]
        i = vend
    return None

def cose_from_auth_data(ad):
    if len(ad) < 55 or not ad[32] & 0x40: return None
    n = int.from_bytes(ad[53:55], "big"); start = 55 + n
    return ad[start:cbor_end(ad, start)]

def unix(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())

def put(target, name, data):
    if isinstance(data, str): data = data.encode()
    with open(os.path.join("corpus", target, name), "wb") as f: f.write(data)

counts = dict.fromkeys(targets, 0)
def seed(target, name, data):
    if data: put(target, name, data); counts[target] += 1

for path in sorted(glob.glob(os.path.join(conformance, "*", "*.json"))):
    case = json.load(open(path)); name = case.get("name") or os.path.basename(path)[:-5]
    resp = case.get("response") or {}; r = resp.get("response") or {}
    try:
        if "clientDataJSON" in r: seed("client_data", name, b64(r["clientDataJSON"]))
        hints = {"now": unix(case["verifyAt"])} if "verifyAt" in case else {}
        if "signature" in r:  # authentication
            ad = b64(r["authenticatorData"]); seed("authenticator_data", name, ad)
            key = b64(case["credentialPublicKey"]) if case.get("credentialPublicKey") else b""
            seed("cose_key", name, key)
            seed("cose_key", name + "+sig", key + b64(r["signature"]) if key else b"")
            hints["credentialPublicKey"] = case.get("credentialPublicKey")
            hints["storedSignCount"] = case.get("storedSignCount", 0)
            seed("authentication_json", name, json.dumps(dict(resp, latchFuzz=hints)))
        elif "attestationObject" in r:  # registration
            roots = (case.get("expect") or {}).get("trustRoots") or []
            if roots: hints["trustRoots"] = roots
            seed("registration_json", name, json.dumps(dict(resp, latchFuzz=hints)))
            att = b64(r["attestationObject"]); seed("attestation_object", name, att)
            ad = cbor_map_bytes(att, "authData")
            if ad:
                seed("authenticator_data", name, ad)
                seed("cose_key", name, cose_from_auth_data(ad) or b"")
    except Exception as e:  # a malformed case is a seed worth keeping too, just not parsed here
        print(f"seed.sh: {name}: {e}", file=sys.stderr)

print(" ".join(f"{t}={n}" for t, n in counts.items()))
PY
