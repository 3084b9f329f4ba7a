"""What gunicorn refuses before the app sees it is the app's problem JSON in the reader's language (api/refusals.py,
gunicorn.conf.py's worker class): gunicorn answered a URL over 4 KB, too many or too long headers and a malformed
request line or header with an English HTML page of its own."""

from __future__ import annotations

import json
import runpy
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.helpers import PROBLEM_JSON
from tests.api.test_messages import english_leaks

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
ZH = "Accept-Language: zh-CN"
EN = "Accept-Language: en"


def sent(line: str, *headers: str, body: bytes = b"") -> bytes:
    """A request as it goes on the wire: its line, ``Host`` and ``headers``, then ``body``."""
    return "".join(f"{text}\r\n" for text in (line, "Host: x", *headers)).encode("latin-1") + b"\r\n" + body


HEALTH, LOGIN = "GET /api/v1/health HTTP/1.1", "POST /api/v1/auth/login HTTP/1.1"
CHUNKED = ("Content-Type: application/json", "Transfer-Encoding: chunked")
# (what is sent, status, code, the header named in ``errors``, English: the headers were read before the refusal)
REFUSED = [
    (sent(f"GET /api/v1/health?q={'a' * 5000} HTTP/1.1", EN), 414, "request_line_too_long", None, False),
    (sent(HEALTH, *(f"X-{n}: 1" for n in range(120))), 431, "request_headers_too_large", None, False),
    (sent(HEALTH, "X-Big: " + "a" * 9000), 431, "request_headers_too_large", None, False),
    (b"GARBAGE\r\n\r\n", 400, "request_line_invalid", None, False),
    (sent("GET /api/v1/health HTTP/9.9"), 400, "request_line_invalid", None, False),
    (sent(HEALTH, "Bad Header: 1"), 400, "request_header_invalid", "Bad Header", False),
    (sent(LOGIN, ZH, "Content-Length: abc"), 400, "request_header_invalid", "Content-Length", False),
    (sent(LOGIN, EN, "Content-Length: abc"), 400, "request_header_invalid", "Content-Length", True),
    (sent(LOGIN, EN, "Transfer-Encoding: gzip"), 400, "request_header_invalid", "Transfer-Encoding", True),
    (sent(LOGIN, "Expect: later"), 417, "expectation_unsupported", "Expect", False),
    (sent(LOGIN, EN, "Transfer-Encoding: foo"), 501, "transfer_coding_unsupported", "Transfer-Encoding", False),
    # A chunked body gunicorn cannot read is found while the app reads it: the app's handler, same answer.
    (sent(LOGIN, *CHUNKED, body=b"ZZ\r\n{}\r\n0\r\n\r\n"), 400, "request_chunks_invalid", None, False),
    # ... or its trailer section (headers after the last chunk): a bad one, or one over the size limit (was a 500)
    (sent(LOGIN, *CHUNKED, body=b"2\r\n{}\r\n0\r\nBad Trailer: 1\r\n\r\n"), 400, "request_chunks_invalid", None, False),
    (
        sent(LOGIN, *CHUNKED, body=b"0\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"),
        400,
        "request_chunks_invalid",
        None,
        False,
    ),
]


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as it is and read the answer until the server closes or 5 s pass: (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(request)
        connection.settimeout(5)
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except TimeoutError:
            pass  # a kept-alive connection (the app's own answer)
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body[: int(headers["content-length"])]


@pytest.mark.slow
def test_gunicorns_refusals_are_problems_in_the_readers_language(gunicorn):
    port = urlsplit(gunicorn(workers=1)).port
    for request, status, code, header, english in REFUSED:
        answered, headers, body = exchange(port, request)
        problem = json.loads(body)
        where = request[:60]
        assert (answered, problem["status"], problem["code"]) == (status, status, code), where
        assert headers["content-type"] == PROBLEM_JSON and headers["x-content-type-options"] == "nosniff", where
        if english:
            assert problem["detail"].startswith("header ") and problem["title"] == "Bad Request", where
        else:  # Chinese: asked for, or the default when the headers were never read
            assert not english_leaks(problem), where
        if header:
            assert list(problem["errors"]) == [header], where
        if code == "request_header_invalid":
            assert problem["params"]["header"] == header, where
    limits = exchange(port, REFUSED[1][0])[2]
    assert json.loads(limits)["params"] == {"fields": "100", "size": "8190"}  # gunicorn's limits, unchanged


@pytest.mark.slow
def test_a_chunked_body_it_cannot_read_closes_the_connection_after_its_answer(gunicorn):
    """The 400 to a malformed chunked body is the app's answer (the body is read there), and gunicorn kept the
    connection, where it can no longer tell where the next request starts: a request sent right after it waited
    unanswered until the keep-alive timeout. The answer now says Connection: close, and the connection closes."""
    port = urlsplit(gunicorn(workers=1)).port
    malformed = sent(LOGIN, *CHUNKED, body=b"ZZ\r\n{}\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(malformed + sent(HEALTH))
        connection.settimeout(3)  # under gunicorn's keep-alive (5 s): a kept connection times out here
        answer, closed = b"", False
        try:
            while chunk := connection.recv(65536):
                answer += chunk
            closed = True
        except TimeoutError:
            pass
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1")
    assert head.startswith("HTTP/1.1 400") and "Connection: close" in head.split("\r\n"), head
    assert closed and answer.count(b"HTTP/1.1 ") == 1, answer  # the next request is the client's to send again


@pytest.mark.parametrize(
    ("named", "threads", "expected"),
    [
        (None, "4", "ProblemThreadWorker"),
        ("gthread", "1", "ProblemThreadWorker"),
        ("sync", "1", "ProblemSyncWorker"),
        ("sync", "4", "ProblemThreadWorker"),  # gunicorn's rule: a sync worker with threads is gthread
        ("gevent", "4", "gevent"),
    ],
)
def test_the_built_in_worker_classes_are_the_problem_answering_ones(monkeypatch, named, threads, expected):
    if named is None:
        monkeypatch.delenv("GUNICORN_WORKER_CLASS", raising=False)
    else:
        monkeypatch.setenv("GUNICORN_WORKER_CLASS", named)
    monkeypatch.setenv("GUNICORN_THREADS", threads)
    worker_class = runpy.run_path(str(CONF))["worker_class"]
    assert getattr(worker_class, "__name__", worker_class) == expected
