"""``make_server`` / ``serve_index``: the search API and page over real HTTP on 127.0.0.1 (a tiny random BERT)."""

from __future__ import annotations

import inspect
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from conftest import SENTENCES, build_tiny_bert, make_model, serving

from simcse_st.search import EmbeddingIndex, SearchHit, index_server
from simcse_st.search.index_server import make_server, serve_index

EXTRA = [
    "a girl rides a bicycle downhill.",
    "fresh bread smells wonderful.",
    "the river floods every spring.",
    "my phone battery died again.",
    "coffee keeps me awake at night.",
    "snow covered the quiet village.",
    "they painted the fence blue.",
    "a pilot lands the plane safely.",
    "the teacher grades the essays.",
    "wolves howl under a full moon.",
    "ice cream melts in the sun.",
    "the bakery closes early on sunday.",
    "volcanoes erupt with hot lava.",
    "a sailor ties a strong knot.",
]
CORPUS = SENTENCES + EXTRA  # 30 distinct sentences (distinct in their first 30 characters, all the tiny BERT reads)
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy


class Answer:
    """One HTTP answer: status, headers, body (and its JSON)."""

    def __init__(self, status: int, headers: Message, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        assert self.headers.get("Content-Type") == "application/json; charset=utf-8"
        return json.loads(self.body.decode("utf-8"))


def call(
    base: str,
    path: str,
    *,
    payload: Any = None,
    data: bytes | None = None,
    method: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """``urllib.request`` to ``base + path``: a JSON ``payload`` or raw ``data`` makes it a POST."""
    headers = dict(headers or {})
    if payload is not None:
        data = json.dumps(payload).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with OPENER.open(request, timeout=60) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())


def search_get(base: str, **params: Any) -> Answer:
    return call(base, "/api/search?" + urlencode(params, doseq=True))


def as_dicts(hits: list[SearchHit]) -> list[dict[str, Any]]:
    return [hit.to_dict() for hit in hits]


def assert_same_hits(served: list[dict[str, Any]], direct: list[SearchHit]) -> None:
    assert [(hit["id"], hit["sentence"]) for hit in served] == [(hit.id, hit.sentence) for hit in direct]
    assert [hit["score"] for hit in served] == pytest.approx([hit.score for hit in direct], abs=1e-6)
    assert all(set(hit) == {"id", "sentence", "score"} for hit in served)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> EmbeddingIndex:
    model = make_model(build_tiny_bert(tmp_path_factory.mktemp("server") / "bert"))
    return EmbeddingIndex.build(model, CORPUS, show_progress_bar=False)


@pytest.fixture(scope="module")
def base(index: EmbeddingIndex) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of a server over ``index``, serving in a thread for the module's tests."""
    with serving(make_server(index, port=0, max_top_k=20, max_query_chars=200)) as url:
        yield url


def assert_still_serving(base: str, index: EmbeddingIndex) -> None:
    answer = search_get(base, q="a cat on a mat", top_k=3)
    assert answer.status == 200
    assert_same_hits(answer.json()["hits"], index.search("a cat on a mat", top_k=3))


# --- answers ---------------------------------------------------------------------------------------------------


def test_get_search_equals_direct_search(base: str, index: EmbeddingIndex) -> None:
    answer = search_get(base, q="a man plays the guitar", top_k=7)
    assert answer.status == 200
    body = answer.json()
    assert body["query"] == "a man plays the guitar"
    assert len(body["hits"]) == 7
    assert_same_hits(body["hits"], index.search("a man plays the guitar", top_k=7))


def test_default_top_k_is_five(base: str, index: EmbeddingIndex) -> None:
    body = search_get(base, q="the weather today").json()
    assert_same_hits(body["hits"], index.search("the weather today", top_k=5))


def test_post_single_query_equals_direct_search(base: str, index: EmbeddingIndex) -> None:
    answer = call(base, "/api/search", payload={"query": "a dog in the park", "top_k": 4})
    assert answer.status == 200
    body = answer.json()
    assert body["query"] == "a dog in the park"
    assert_same_hits(body["hits"], index.search("a dog in the park", top_k=4))


def test_post_several_queries(base: str, index: EmbeddingIndex) -> None:
    queries = ["a dog in the park", "rain tomorrow", "cooking pasta"]
    answer = call(base, "/api/search", payload={"queries": queries, "top_k": 3})
    assert answer.status == 200
    results = answer.json()["results"]
    assert [result["query"] for result in results] == queries
    for result, direct in zip(results, index.search(queries, top_k=3), strict=True):
        assert_same_hits(result["hits"], direct)


def test_get_repeated_q_gives_several_results(base: str, index: EmbeddingIndex) -> None:
    queries = ["birds in the morning", "the museum"]
    results = search_get(base, q=queries, top_k=2).json()["results"]
    assert [result["query"] for result in results] == queries
    for result, direct in zip(results, index.search(queries, top_k=2), strict=True):
        assert_same_hits(result["hits"], direct)


def test_top_k_and_threshold_are_honoured(base: str, index: EmbeddingIndex) -> None:
    everything = index.search("an old man", top_k=len(CORPUS))
    threshold = everything[len(everything) // 2].score  # about half the corpus scores at least this
    expected = index.search("an old man", top_k=20, threshold=threshold)
    for answer in (
        search_get(base, q="an old man", top_k=20, threshold=threshold),
        call(base, "/api/search", payload={"query": "an old man", "top_k": 20, "threshold": threshold}),
    ):
        hits = answer.json()["hits"]
        assert 0 < len(hits) < 20
        assert all(hit["score"] >= threshold for hit in hits)
        assert_same_hits(hits, expected)
    assert search_get(base, q="an old man", top_k=1).json()["hits"] == as_dicts(index.search("an old man", top_k=1))
    assert search_get(base, q="an old man", threshold=1).json()["hits"] == []  # no sentence reaches 1.0 here


def test_unicode_query_and_blank_threshold(base: str, index: EmbeddingIndex) -> None:
    body = search_get(base, q="café à l'été ☕", threshold="").json()  # the page sends an empty threshold as none
    assert body["query"] == "café à l'été ☕"
    assert_same_hits(body["hits"], index.search("café à l'été ☕"))


def test_info(base: str, index: EmbeddingIndex) -> None:
    answer = call(base, "/api/info")
    assert answer.status == 200
    info = answer.json()
    assert info["count"] == len(index) == len(CORPUS)
    assert (info["kind"], info["precision"]) == ("exact", "float32")
    assert info["model"] == index.model_info["name"]
    assert info["dimension"] == index.dimension == 32
    assert (info["max_top_k"], info["max_query_chars"], info["max_queries"]) == (20, 200, 100)


def test_page_is_served_as_html_with_security_headers(base: str) -> None:
    answer = call(base, "/")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    assert int(answer.headers["Content-Length"]) == len(answer.body)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "'unsafe-inline'" in csp
    page = answer.body.decode("utf-8")
    for element_id in ("query", "top-k", "threshold", "search", "results", "error", "info"):
        assert f'id="{element_id}"' in page
    assert "innerHTML" not in page and "http://" not in page and "https://" not in page


def test_json_answers_have_length_and_nosniff(base: str) -> None:
    answer = search_get(base, q="the train")
    assert int(answer.headers["Content-Length"]) == len(answer.body)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


# --- bad requests ----------------------------------------------------------------------------------------------

BAD_GETS = [
    ({}, "no query"),
    ({"q": ""}, "blank"),
    ({"q": "   "}, "blank"),
    ({"q": "x", "top_k": "three"}, "top_k"),
    ({"q": "x", "top_k": "2.5"}, "top_k"),
    ({"q": "x", "top_k": "0"}, "top_k"),
    ({"q": "x", "top_k": "-3"}, "top_k"),
    ({"q": "x", "top_k": "21"}, "top_k"),  # over max_top_k
    ({"q": "x", "top_k": "9" * 40}, "top_k"),
    ({"q": "x", "top_k": ["2", "3"]}, "top_k"),
    ({"q": "x", "threshold": "high"}, "threshold"),
    ({"q": "x", "threshold": "1.5"}, "threshold"),
    ({"q": "x", "threshold": "-2"}, "threshold"),
    ({"q": "x", "threshold": "nan"}, "threshold"),
    ({"q": "x", "threshold": "inf"}, "threshold"),
    ({"q": "x" * 201}, "characters"),  # over max_query_chars
    ({"q": "x", "topk": "3"}, "unknown parameter"),
]


@pytest.mark.parametrize(("params", "needle"), BAD_GETS)
def test_bad_get_is_a_400_with_a_json_error(
    base: str, index: EmbeddingIndex, params: dict[str, Any], needle: str
) -> None:
    answer = search_get(base, **params)
    assert answer.status == 400
    error = answer.json()["error"]
    assert needle in error and "\n" not in error and "Traceback" not in error
    assert_still_serving(base, index)


BAD_POSTS = [
    ({}, "no query"),
    ({"query": ""}, "blank"),
    ({"query": 3}, "number"),
    ({"query": None}, "null"),
    ({"query": "x", "queries": ["y"]}, "not both"),
    ({"queries": []}, "empty"),
    ({"queries": "x"}, "list"),
    ({"queries": ["fine", " "]}, "queries[1] is blank"),
    ({"queries": ["fine", 7]}, "queries[1]"),
    ({"queries": ["x"] * 101}, "at most 100"),
    ({"query": "x", "top_k": "5"}, "top_k"),
    ({"query": "x", "top_k": 2.5}, "top_k"),
    ({"query": "x", "top_k": True}, "top_k"),
    ({"query": "x", "top_k": 0}, "top_k"),
    ({"query": "x", "top_k": 21}, "top_k"),
    ({"query": "x", "threshold": "0.5"}, "threshold"),
    ({"query": "x", "threshold": 1.01}, "threshold"),
    ({"query": "x", "threshold": False}, "threshold"),
    ({"query": "x" * 201}, "characters"),
    ({"query": "x", "topk": 3}, "unknown field"),
]


@pytest.mark.parametrize(("payload", "needle"), BAD_POSTS)
def test_bad_post_is_a_400_with_a_json_error(base: str, index: EmbeddingIndex, payload: Any, needle: str) -> None:
    answer = call(base, "/api/search", payload=payload)
    assert answer.status == 400
    error = answer.json()["error"]
    assert needle in error and "\n" not in error and "Traceback" not in error
    assert_still_serving(base, index)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b'["a list"]', "send an object"),
        (b'"a string"', "send an object"),
        (b'{"query": "x", "threshold": NaN}', "threshold"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON"),
    ],
)
def test_bad_json_body_is_a_400(base: str, index: EmbeddingIndex, data: bytes, needle: str) -> None:
    answer = call(base, "/api/search", data=data, headers={"Content-Type": "application/json"})
    assert answer.status == 400
    assert needle in answer.json()["error"]
    assert_still_serving(base, index)


def test_oversized_body_is_a_413(base: str, index: EmbeddingIndex) -> None:
    data = json.dumps({"query": "x" * (1 << 20)}).encode("utf-8")
    answer = call(base, "/api/search", data=data, headers={"Content-Type": "application/json"})
    assert answer.status == 413
    assert "bytes" in answer.json()["error"]
    assert_still_serving(base, index)


def raw_request(base: str, request: bytes) -> tuple[int, bytes]:
    """Send raw bytes over a socket; the status code and the body of the answer."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(request)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 411),  # no Content-Length
        (b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n", 400),
        (b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\n{}", 400),  # body cut short
        (b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
        (b"GET / extra HTTP/1.1\r\n\r\n", 400),
        (b"GET /api/search?q=%FF HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),  # not UTF-8
    ],
)
def test_malformed_requests_get_json_errors(
    base: str, index: EmbeddingIndex, request_bytes: bytes, status: int
) -> None:
    code, body = raw_request(base, request_bytes)
    assert code == status
    assert json.loads(body)["error"]
    assert_still_serving(base, index)


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/nothing", None, 404),
        ("/api/search/", None, 404),
        ("/api", None, 404),
        ("/", "POST", 405),
        ("/api/info", "POST", 405),
        ("/api/search", "PUT", 501),
        ("/api/search", "DELETE", 501),
    ],
)
def test_unknown_paths_and_methods(
    base: str, index: EmbeddingIndex, path: str, method: str | None, status: int
) -> None:
    data = b"{}" if method in ("POST", "PUT") else None
    answer = call(base, path, data=data, method=method)
    assert answer.status == status
    assert answer.json()["error"]
    assert_still_serving(base, index)


def test_foreign_host_header_is_refused(base: str, index: EmbeddingIndex) -> None:
    """A page of another site reaching the server through DNS rebinding sends its own name as Host."""
    answer = call(base, "/api/info", headers={"Host": "evil.example:8000"})
    assert answer.status == 403
    assert "Host" in answer.json()["error"]
    assert call(base, "/api/info", headers={"Host": "localhost:1234"}).status == 200
    assert_still_serving(base, index)


def test_unexpected_error_is_a_generic_500_and_logged(
    base: str, index: EmbeddingIndex, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(index, "search", broken)
    with caplog.at_level(logging.ERROR, logger="simcse_st.search.index_server"):
        answer = search_get(base, q="anything")
    assert answer.status == 500
    error = answer.json()["error"]
    assert "internal" in error and "secret" not in error
    assert any(record.exc_info and "secret internal detail" in str(record.exc_info[1]) for record in caplog.records)
    monkeypatch.undo()
    assert_still_serving(base, index)


def test_requests_write_nothing_to_stderr(base: str, capfd: pytest.CaptureFixture[str]) -> None:
    capfd.readouterr()
    search_get(base, q="the band")
    search_get(base, q="")
    call(base, "/nothing")
    raw_request(base, b"GET / extra HTTP/1.1\r\n\r\n")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_concurrent_requests(base: str, index: EmbeddingIndex) -> None:
    queries = [f"{sentence.split()[1]} again" for sentence in CORPUS[:12]]
    expected = {query: as_dicts(index.search(query, top_k=3)) for query in queries}
    answers: dict[str, Any] = {}

    def ask(query: str) -> None:
        answers[query] = search_get(base, q=query, top_k=3).json()["hits"]

    threads = [threading.Thread(target=ask, args=(query,)) for query in queries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for query in queries:
        assert_same_hits(answers[query], [SearchHit(**hit) for hit in expected[query]])


# --- binding and serving -----------------------------------------------------------------------------------------


def test_binds_loopback_by_default(index: EmbeddingIndex) -> None:
    assert inspect.signature(make_server).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(serve_index).parameters["host"].default == "127.0.0.1"
    server = make_server(index, port=0)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1" and port > 0
    finally:
        server.server_close()


@pytest.mark.parametrize("limits", [{"max_top_k": 0}, {"max_query_chars": -1}, {"max_queries": 2.5}])
def test_bad_limits_are_refused(index: EmbeddingIndex, limits: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(limits))):
        make_server(index, port=0, **limits)


def test_serve_index_logs_the_url_and_closes_on_ctrl_c(
    index: EmbeddingIndex, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(index, port=0)
    served: list[bool] = []

    def interrupted() -> None:
        served.append(True)
        raise KeyboardInterrupt

    monkeypatch.setattr(server, "serve_forever", interrupted)
    monkeypatch.setattr(index_server, "make_server", lambda *args, **kwargs: server)
    with caplog.at_level(logging.INFO, logger="simcse_st.search.index_server"):
        assert serve_index(index, port=0) is None
    assert served == [True]
    assert server.socket.fileno() == -1  # closed
    port = server.server_address[1]
    assert any(f"http://127.0.0.1:{port}/" in record.getMessage() for record in caplog.records)


def test_page_is_read_from_the_package() -> None:
    from importlib.resources import files

    page = files("simcse_st.search").joinpath("search_page.html").read_text("utf-8")
    assert page.lstrip().startswith("<!doctype html>")
    assert Path(str(files("simcse_st.search").joinpath("search_page.html"))).name == "search_page.html"
