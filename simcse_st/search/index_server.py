"""A small local HTTP server over an :class:`~simcse_st.search.EmbeddingIndex`: a search page and a JSON API.

Standard library only (``http.server``). Endpoints:

- ``GET /``: the search page (HTML).
- ``GET /api/search?q=...&top_k=5&threshold=0.5``: ``{"query": q, "hits": [{"id", "sentence", "score"}, ...]}``;
  ``q`` repeated gives ``{"results": [{"query", "hits"}, ...]}``.
- ``POST /api/search`` with a JSON body ``{"query": "...", "top_k": 5, "threshold": 0.5}`` (the same answer), or
  ``{"queries": ["...", ...], ...}`` (the ``results`` answer).
- ``GET /api/info``: the index's facts (count, kind, precision, model, dimension) and the server's limits.

A bad request gets a 4xx status and ``{"error": "one-line message"}``; an unexpected failure a 500 and a generic
message (the traceback goes to the log). The server binds to 127.0.0.1 unless told otherwise, and while bound to a
loopback address it answers only requests whose ``Host`` is a loopback name (a guard against DNS rebinding).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import re
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from simcse_st.search.embedding_index import EmbeddingIndex

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # a POST body larger than this gets a 413
MAX_DRAINED_BYTES = 16 << 20  # an oversized body up to this is read and dropped (so the client sees the 413)
MAX_QUERIES = 100  # queries in one request
DEFAULT_TOP_K = 5
REQUEST_TIMEOUT_S = 30.0  # a client that stops sending mid-request is dropped after this
PAGE_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_INTEGER = re.compile(r"[+-]?\d{1,12}")
_SEARCH_FIELDS = ("query", "queries", "top_k", "threshold")


class _RequestError(Exception):
    """A request the server refuses: its HTTP status and a one-line message for the client."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class IndexServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` holding the index, the server's limits and the page; made by :func:`make_server`."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        index: EmbeddingIndex,
        max_top_k: int,
        max_query_chars: int,
        max_queries: int,
        page: bytes,
    ) -> None:
        self.index, self.max_top_k, self.max_query_chars, self.max_queries = (
            index,
            max_top_k,
            max_query_chars,
            max_queries,
        )
        self.page = page
        self.search_lock = threading.Lock()  # one search at a time: the query model's tokenizer is not thread-safe
        self.loopback = _is_loopback(address[0])
        super().__init__(address, _IndexRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed outside the handler's own error handling (e.g. the client went away)."""
        logger.debug(f"Connection from {client_address} failed.", exc_info=True)

    @property
    def url(self) -> str:
        """``http://host:port/`` of the bound socket."""
        host, port = self.server_address[:2]
        host = str(host)
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class _IndexServer6(IndexServer):
    address_family = socket.AF_INET6


class _IndexRequestHandler(BaseHTTPRequestHandler):
    """Answers one connection of an :class:`IndexServer`: the page, ``/api/search`` and ``/api/info``."""

    server: IndexServer
    server_version = "simcse-st"
    timeout = REQUEST_TIMEOUT_S

    # --- routing ----------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        try:
            self._check_host()
            parts = urlsplit(self.path)
            routes = {"/": ("GET",), "/api/search": ("GET", "POST"), "/api/info": ("GET",)}
            if parts.path not in routes:
                raise _RequestError(HTTPStatus.NOT_FOUND, f"no such page: {parts.path[:200]!r}.")
            if method not in routes[parts.path]:
                raise _RequestError(
                    HTTPStatus.METHOD_NOT_ALLOWED, f"{parts.path} takes {' or '.join(routes[parts.path])}."
                )
            if parts.path == "/":
                self._send(HTTPStatus.OK, self.server.page, "text/html; charset=utf-8", PAGE_CSP)
            elif parts.path == "/api/info":
                self._send_json(HTTPStatus.OK, self._info())
            else:
                fields = self._query_fields(parts.query) if method == "GET" else self._body_fields()
                self._send_json(HTTPStatus.OK, self._search(fields))
        except _RequestError as error:
            self._send_json(error.status, {"error": error.message})
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("The client went away.", exc_info=True)
            self.close_connection = True
        except Exception:
            logger.exception(f"Failed to answer {method} {self.path[:200]!r}.")
            self._send_json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": "internal server error (see the server log)."})

    def _check_host(self) -> None:
        """While bound to loopback, refuse a ``Host`` that is not a loopback name (a page of another site reaching
        this server through DNS rebinding)."""
        host = self.headers.get("Host")
        if not self.server.loopback or host is None:
            return
        name = host.strip().lower()
        name = name[1 : name.index("]")] if name.startswith("[") and "]" in name else name.rsplit(":", 1)[0]
        if name not in LOOPBACK_NAMES and not _is_loopback(name):
            raise _RequestError(
                HTTPStatus.FORBIDDEN, f"Host {host[:100]!r} is not allowed: use 127.0.0.1 or localhost."
            )

    # --- reading requests -----------------------------------------------------------------------------------------

    def _query_fields(self, query: str) -> dict[str, Any]:
        """The search fields of a query string (``q`` may repeat; the others once each)."""
        try:
            params = parse_qs(query, keep_blank_values=True, strict_parsing=False, errors="strict")
        except UnicodeDecodeError as error:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "the query string is not valid UTF-8.") from error
        unknown = sorted(set(params) - {"q", "top_k", "threshold"})
        if unknown:
            raise _RequestError(
                HTTPStatus.BAD_REQUEST, f"unknown parameter {unknown[0][:50]!r}: use q, top_k, threshold."
            )
        for name in ("top_k", "threshold"):
            if len(params.get(name, [])) > 1:
                message = f"{name} is given {len(params[name])} times: give it once."
                raise _RequestError(HTTPStatus.BAD_REQUEST, message)
        queries = params.get("q", [])
        fields: dict[str, Any] = {"query": queries[0]} if len(queries) == 1 else {"queries": queries}
        if not queries:
            fields = {}
        if "top_k" in params:
            fields["top_k"] = _parse_integer(params["top_k"][0])
        if "threshold" in params and params["threshold"][0].strip():
            fields["threshold"] = _parse_number(params["threshold"][0])
        return fields

    def _body_fields(self) -> dict[str, Any]:
        """The search fields of a POST's JSON object body."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise _RequestError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length, not chunked.")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise _RequestError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a JSON body and its Content-Length.")
        if not length_header.strip().isdigit():
            self.close_connection = True
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"Content-Length {length_header[:30]!r} is not a byte count.")
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            self._drain(length)
            raise _RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body has {length} bytes; at most {MAX_BODY_BYTES} are taken.",
            )
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"the body ended after {len(body)} of {length} bytes.")
        try:
            fields = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"the body is not valid JSON ({_one_line(error)}).") from error
        except RecursionError as error:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "the body's JSON is nested too deeply.") from error
        if not isinstance(fields, dict):
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"the body is a JSON {_json_type(fields)}: send an object.")
        unknown = sorted(set(fields) - set(_SEARCH_FIELDS))
        if unknown:
            raise _RequestError(
                HTTPStatus.BAD_REQUEST, f"unknown field {unknown[0][:50]!r}: use {', '.join(_SEARCH_FIELDS)}."
            )
        return fields

    def _drain(self, length: int) -> None:
        """Read and drop an oversized body (up to a bound) so the client reads the answer instead of a reset."""
        self.close_connection = True
        left = min(length, MAX_DRAINED_BYTES)
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            left -= len(chunk)

    # --- answering ------------------------------------------------------------------------------------------------

    def _search(self, fields: dict[str, Any]) -> dict[str, Any]:
        server = self.server
        if "query" in fields and "queries" in fields:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "give either query or queries, not both.")
        if "query" not in fields and "queries" not in fields:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "no query: give q=... (GET) or a query field (POST).")
        single = "query" in fields
        queries = [fields["query"]] if single else fields["queries"]
        if not isinstance(queries, list):
            raise _RequestError(
                HTTPStatus.BAD_REQUEST, f"queries is a JSON {_json_type(queries)}: give a list of text."
            )
        if not queries:
            raise _RequestError(HTTPStatus.BAD_REQUEST, "queries is empty: give at least one query.")
        if len(queries) > server.max_queries:
            raise _RequestError(
                HTTPStatus.BAD_REQUEST, f"{len(queries)} queries in one request; at most {server.max_queries}."
            )
        for position, query in enumerate(queries):
            where = "the query" if single else f"queries[{position}]"
            if not isinstance(query, str):
                raise _RequestError(HTTPStatus.BAD_REQUEST, f"{where} is a JSON {_json_type(query)}: give text.")
            if not query.strip():
                raise _RequestError(HTTPStatus.BAD_REQUEST, f"{where} is blank: give text.")
            if len(query) > server.max_query_chars:
                raise _RequestError(
                    HTTPStatus.BAD_REQUEST,
                    f"{where} has {len(query)} characters; at most {server.max_query_chars} are taken.",
                )
        top_k = fields.get("top_k", min(DEFAULT_TOP_K, server.max_top_k))
        if top_k is None:
            top_k = min(DEFAULT_TOP_K, server.max_top_k)
        if isinstance(top_k, bool) or not isinstance(top_k, int):
            raise _RequestError(HTTPStatus.BAD_REQUEST, f"top_k={_shown(top_k)} is not a whole number.")
        if not 1 <= top_k <= server.max_top_k:
            message = f"top_k={top_k} is out of range: give 1 to {server.max_top_k}."
            raise _RequestError(HTTPStatus.BAD_REQUEST, message)
        threshold = fields.get("threshold")
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
                raise _RequestError(HTTPStatus.BAD_REQUEST, f"threshold={_shown(threshold)} is not a number.")
            if not -1.0 <= threshold <= 1.0:  # NaN fails this too
                raise _RequestError(
                    HTTPStatus.BAD_REQUEST, f"threshold={threshold} is out of range: a cosine between -1 and 1."
                )
            threshold = float(threshold)
        with server.search_lock:
            results = server.index.search(queries, top_k=top_k, threshold=threshold)
        answers = [
            {"query": query, "hits": [hit.to_dict() for hit in hits]}
            for query, hits in zip(queries, results, strict=True)
        ]
        return answers[0] if single else {"results": answers}

    def _info(self) -> dict[str, Any]:
        index, server = self.server.index, self.server
        return {
            "count": len(index),
            "kind": index.config.kind,
            "precision": index.config.precision,
            "model": index.model_info.get("name"),
            "dimension": index.dimension,
            "max_top_k": server.max_top_k,
            "max_query_chars": server.max_query_chars,
            "max_queries": server.max_queries,
        }

    def _send_json(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", API_CSP)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, csp: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", csp)
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        if status == HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", "GET, POST" if urlsplit(self.path).path == "/api/search" else "GET")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The errors ``http.server`` raises itself (bad request line, unsupported method, URI too long), as JSON."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        self.log_error("code %d, message %s", code, message)
        self.close_connection = True
        body = json.dumps({"error": f"{message or phrase}."}).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Each request, to the debug log (not stderr)."""
        logger.debug(f"{self.address_string()} {format % args}")

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug(f"{self.address_string()} {format % args}")


def make_server(
    index: EmbeddingIndex,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_top_k: int = 100,
    max_query_chars: int = 1000,
    max_queries: int = MAX_QUERIES,
) -> ThreadingHTTPServer:
    """A server over ``index``, bound to ``host:port`` (``port=0``: a free port, see ``server.server_address``) but
    not yet serving: call ``serve_forever()`` (in a thread, say) and ``shutdown()`` / ``server_close()`` after.

    The index's query model is loaded (and checked against the index) here, so a bad model fails now.

    Args:
        index: The index searched.
        host: The address to bind; 127.0.0.1 keeps the server to this machine.
        port: The TCP port; 0 picks a free one.
        max_top_k: The largest ``top_k`` a request may ask for.
        max_query_chars: The longest query taken, in characters.
        max_queries: The most queries one request may hold.

    Raises:
        ValueError: A limit below 1.
        OSError: The address cannot be bound, or the index's model cannot be loaded.
    """
    for name, value in (("max_top_k", max_top_k), ("max_query_chars", max_query_chars), ("max_queries", max_queries)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} is invalid: give a whole number >= 1.")
    page = files("simcse_st.search").joinpath("search_page.html").read_text("utf-8").encode("utf-8")
    index.model  # noqa: B018 - load and check the query model before the first request
    server_class = _IndexServer6 if ":" in host else IndexServer
    return server_class((host, port), index, max_top_k, max_query_chars, max_queries, page)


def serve_index(
    index: EmbeddingIndex,
    host: str = "127.0.0.1",
    port: int = 8000,
    max_top_k: int = 100,
    max_query_chars: int = 1000,
    max_queries: int = MAX_QUERIES,
) -> None:
    """Serve ``index`` on ``http://host:port/`` (see :func:`make_server`) until interrupted (Ctrl-C), then close.

    Example:
        ::

            from simcse_st.search import EmbeddingIndex
            from simcse_st.search.index_server import serve_index

            serve_index(EmbeddingIndex.load("corpus-index"), port=8000)  # open http://127.0.0.1:8000/
    """
    server = make_server(index, host, port, max_top_k, max_query_chars, max_queries)
    url = server.url if isinstance(server, IndexServer) else f"http://{host}:{server.server_address[1]}/"
    logger.info(f"Serving {len(index)} sentences at {url} (Ctrl-C stops).")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("Stopping the server.")
    finally:
        server.server_close()


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse_integer(text: str) -> int:
    if not _INTEGER.fullmatch(text.strip()):
        raise _RequestError(HTTPStatus.BAD_REQUEST, f"top_k={_shown(text)} is not a whole number.")
    return int(text)


def _parse_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise _RequestError(HTTPStatus.BAD_REQUEST, f"threshold={_shown(text)} is not a number.") from error
    if not math.isfinite(value):
        raise _RequestError(HTTPStatus.BAD_REQUEST, f"threshold={_shown(text)} is not a finite number.")
    return value


def _shown(value: Any) -> str:
    """A value for an error message: its JSON, cut to one short line."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text[:40] + "…" if len(text) > 40 else text


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:120]
