"""Bad requests to a real `sr-mos serve` process: each refused with a clear status, nothing stored,
the server keeps serving."""

import http.client
import json
import re

from sr_keras.mos import database
from tests.mos.conftest import stored_ratings, tokens_of


def request(server, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        return response.status, data
    finally:
        connection.close()


def post(server, token, payload, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return request(server, "POST", f"/api/{token}/rate", body, {"Content-Type": "application/json"})


def current_item(server, token):
    status, data = request(server, "GET", f"/api/{token}/next")
    assert status == 200
    return json.loads(data)["item"]


def test_bad_requests_are_refused_and_nothing_is_stored(server):
    token, other, _ = tokens_of(server.study_dir)
    item = current_item(server, token)
    other_item = current_item(server, other)
    anchor = item["anchor"]
    forged = "A" * 22
    cases = [
        # tokens
        ("GET", f"/rate/{forged}", None, 403),
        ("GET", f"/api/{forged}/next", None, 403),
        ("POST", f"/api/{forged}/rate", {"item": item["id"], "score": anchor}, 403),
        ("GET", "/api//next", None, 404),
        ("GET", "/api/next", None, 404),
        ("GET", "/rate/", None, 404),
        ("GET", f"/results/{token}", None, 403),  # a rater's token is not the owner's
        ("GET", f"/results/{forged}/ratings.csv", None, 403),
        # another rater's item, unknown items
        ("POST", f"/api/{token}/rate", {"item": other_item["id"], "score": other_item["anchor"]}, 403),
        ("POST", f"/api/{token}/rate", {"item": "0123456789abcdef", "score": 3}, 404),
        ("POST", f"/api/{token}/rate", {"item": "../../study.sqlite", "score": 3}, 404),
        # scores
        *[("POST", f"/api/{token}/rate", {"item": item["id"], "score": s}, 422) for s in (0, 6, 3.5, "x", "3", None, True, [3])],
        # malformed bodies
        ("POST", f"/api/{token}/rate", {"item": item["id"]}, 400),
        ("POST", f"/api/{token}/rate", {"item": item["id"], "score": anchor, "rater": 2}, 400),
        ("POST", f"/api/{token}/rate", [item["id"], anchor], 400),
        ("POST", f"/api/{token}/rate", b"score=3", 400),
        ("POST", f"/api/{token}/rate", b'{"item": "' + b"a" * 5000 + b'", "score": 3}', 413),
        ("GET", f"/api/{token}/rate", None, 405),
        # images: another rater's current image, a later image of this rater, path tricks
        ("GET", f"/image/{token}/{other_item['id']}.png", None, 403),
        ("GET", f"/image/{other}/{item['id']}.png", None, 403),
        ("GET", f"/image/{token}/../study.sqlite", None, 404),
        ("GET", f"/image/{token}/..%2fstudy.sqlite", None, 404),
        ("GET", f"/image/{token}/%2e%2e%2f%2e%2e%2fetc%2fpasswd", None, 404),
        ("GET", f"/image/{token}/..%5c..%5cstudy.sqlite", None, 404),
        ("GET", f"/image/{token}/{item['id']}.png/../../study.json", None, 404),
        ("GET", "/images/" + item["id"] + ".png", None, 404),
        ("GET", "/study.sqlite", None, 404),
        ("GET", "/static/../study.json", None, 404),
    ]
    for method, path, payload, status in cases:
        if method == "GET":
            got, data = request(server, method, path)
        else:
            got, data = post(server, path.split("/")[2], None, raw=payload) if isinstance(payload, bytes) else post(server, path.split("/")[2], payload)
        assert got == status, (method, path, payload, got, data[:200])
        # A clear message: JSON {"error": ...} from the app, or waitress's own for a body too large.
        assert b'"error"' in data or (got == 413 and b"Too Large" in data), (path, data[:200])
    # An oversized body without a Content-Length (chunked) is cut off too.
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    chunks = iter([b'{"item": "' + item["id"].encode() + b'", "score": ' + str(anchor).encode(), b" " * 4000, b"}"])
    connection.request("POST", f"/api/{token}/rate", body=chunks, headers={"Content-Type": "application/json"}, encode_chunked=True)
    response = connection.getresponse()
    assert response.status == 413, response.read()[:200]
    connection.close()
    assert stored_ratings(server.study_dir) == []
    # Still serving: the right request works, once.
    status, data = post(server, token, {"item": item["id"], "score": anchor})
    assert status == 200 and json.loads(data)["stored"] is True
    status, _ = post(server, token, {"item": item["id"], "score": anchor})
    assert status == 409
    status, data = request(server, "GET", f"/image/{token}/{item['id']}.png")
    assert status == 403  # no longer the current image
    nxt = current_item(server, token)
    status, data = request(server, "GET", nxt["image"])
    assert status == 200 and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert [(r["presentation_id"], r["score"]) for r in stored_ratings(server.study_dir)] == [(item["id"], anchor)]


def test_blinding_nothing_names_a_method_or_a_file(server):
    connection = database.connect(server.study_dir)
    secrets_ = {s.method for s in database.stimuli(connection)} | {s.image.split("/")[-1] for s in database.stimuli(connection)}
    secrets_ |= {s.id for s in database.stimuli(connection)} | {"tiny"}  # set name; "calibration" is a phase the rater sees
    token = tokens_of(server.study_dir)[0]
    seen = b""
    for _ in range(4):
        status, page = request(server, "GET", f"/rate/{token}")
        status, data = request(server, "GET", f"/api/{token}/next")
        item = json.loads(data)["item"]
        status, image = request(server, "GET", item["image"])
        assert image.count(b"tEXt") == 0 and image.count(b"iTXt") == 0  # no PNG text metadata
        seen += page + data
        post(server, token, {"item": item["id"], "score": item["anchor"] or 3})
    text = seen.decode()
    for secret in secrets_:
        assert not re.search(rf"\b{re.escape(secret)}\b", text, re.IGNORECASE), secret


def test_the_same_rating_sent_12_times_at_once_is_stored_once(server):
    import threading

    token = tokens_of(server.study_dir)[0]
    item = current_item(server, token)
    statuses, barrier = [], threading.Barrier(12)

    def send():
        barrier.wait()
        statuses.append(post(server, token, {"item": item["id"], "score": item["anchor"]})[0])

    threads = [threading.Thread(target=send) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses) == [200] + [409] * 11
    assert [r["presentation_id"] for r in stored_ratings(server.study_dir)] == [item["id"]]
