#!/usr/bin/env python3
"""A sync client written from docs/sync-protocol.md alone, with Python's
standard library only: what another team would write. It joins a unit with
the unit's code and join key (as a QR poster gives them), pushes a person with
a Vietnamese name, an assessment and an evidence record in one protocol-2
batch, uploads the photo in chunks (resuming from the server's `received`
after a deliberate offset mistake), and prints what the server answered as one
JSON object on stdout.

Usage: third_party_client.py SERVER_URL UNIT JOIN_KEY
"""

import hashlib
import json
import sys
import urllib.error
import urllib.request
import uuid


def canonical(body):
    # RFC 8785 for bodies with ASCII member names and integer numbers.
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def call(server, method, path, token=None, body=None, raw=None):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json"
    if raw is not None:
        data = raw
        headers["Content-Type"] = "application/octet-stream"
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(server + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read().decode("utf-8"))


def uuid7():
    # A time-ordered id (UUIDv7): 48 bits of milliseconds, then random bits.
    import os
    import time

    ms = int(time.time() * 1000)
    b = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    b[6] = 0x70 | (b[6] & 0x0F)
    b[8] = 0x80 | (b[8] & 0x3F)
    return str(uuid.UUID(bytes=bytes(b)))


def main():
    server, unit, join_key = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    out = {}
    status, enrolled = call(server, "POST", "/api/v1/enrol", body={
        "unit": unit, "join_key": join_key, "device_id": uuid7(), "device_label": "Máy của tổ dân phố",
    })
    out["enrol_status"] = status
    token = enrolled["token"]

    # A small JPEG as the server reads one: start marker, frame header
    # (1200x1600), a comment segment of anything, end marker.
    filler = bytes((i * 7) % 251 for i in range(30000))
    photo = (bytes([0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 8, 0x06, 0x40, 0x04, 0xB0, 3,
                    1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xFE])
             + (len(filler) + 2).to_bytes(2, "big") + filler + bytes([0xFF, 0xD9]))
    sha = hashlib.sha256(photo).hexdigest()
    person_id, assessment_id = uuid7(), uuid7()
    # Bodies as this client likes to send them: optional fields left out.
    person = {"kind": "person", "id": person_id, "full_name": "Hoàng Thị Nguyệt Ánh", "birth_year": 1961,
              "address": "Bản Phiêng Lằn, xã Mường Chà"}
    answers = {i: 8 for i in ["1.1", "1.2", "1.3", "1.4", "2.1", "2.2", "2.3", "2.4", "3.1", "3.2"]}
    assessment = {"kind": "assessment", "id": assessment_id, "person": person_id, "year": 2025,
                  "catalog": "324-2023", "group": "residents", "answers": answers, "state": "submitted"}
    evidence = {"kind": "evidence", "id": uuid7(), "assessment": assessment_id, "indicator": "1.1",
                "sha256": sha, "size": len(photo), "content_type": "image/jpeg"}
    records = [{"version": 1, "hash": hashlib.sha256(canonical(b)).hexdigest(), "body": b}
               for b in (person, assessment, evidence)]
    status, pushed = call(server, "POST", "/api/v1/push", token, {
        "batch_id": uuid7(), "seq": 1, "protocol": 2, "records": records,
    })
    out["push_status"] = status
    out["outcomes"] = [a["outcome"] for a in pushed["acks"]]
    out["score"] = pushed["acks"][1].get("score")

    # Upload: ask, then send 8 KiB chunks from `received`. One chunk is sent
    # at a wrong offset on purpose, to resume from the error's `received`.
    status, asked = call(server, "POST", "/api/v1/evidence/status", token, {"sha256": [sha]})
    offset = asked["items"][0]["received"]
    status, first = call(server, "PUT", "/api/v1/evidence/%s?offset=%d" % (sha, offset), token,
                         raw=photo[offset:offset + 8192])
    offset = first["received"]
    status, wrong = call(server, "PUT", "/api/v1/evidence/%s?offset=0" % sha, token, raw=photo[:8192])
    out["mismatch"] = {"status": status, "code": wrong["code"], "received": wrong.get("received")}
    offset = wrong["received"]
    complete = False
    while not complete:
        status, now = call(server, "PUT", "/api/v1/evidence/%s?offset=%d" % (sha, offset), token,
                           raw=photo[offset:offset + 8192])
        if status != 200:
            out["upload_error"] = now
            break
        offset, complete = now["received"], now["complete"]
    out["uploaded"] = complete
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
