#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds taken from the shared conformance corpus
# (../shared/conformance beside the repository, or $LATCH_CONFORMANCE_DIR).
# The corpus directories are gitignored; re-run this after a clean checkout.
set -euo pipefail
cd "$(dirname "$0")"
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
