"""Reading input that may be hostile: config files, result files, request bodies from files.

Every reader here is bounded in time and memory, and every refusal is one `ConfigError`
line naming the file:

- files are read in chunks up to a size limit (never `f.read()` of an unbounded stream such
  as /dev/zero or a FIFO), and decoded as UTF-8 with a one-line error when they are not;
- JSON and YAML documents may nest at most `MAX_DEPTH` levels (the parsers, the schema
  validator and the renderer all recurse, and Python's stack is ~1000 frames);
- YAML aliases are bounded: at most `MAX_ALIASES` alias uses, no alias to a node that contains
  it, and at most `MAX_NODES` nodes once every alias is expanded, so a "billion laughs" bomb
  (nine aliases of nine aliases of ...) is refused while it is being composed, not after the
  schema validator has walked its 10^9 strings.

Config files (lunge.config), results for `lunge merge` / `lunge compare` (lunge.results) and
request bodies (`-d @FILE`, `--json @FILE`, a config body "@file") all come through here.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from lunge.errors import ConfigError
from lunge.settings import MAX_REQUEST_BODY

MAX_DEPTH = 100                      # nesting levels of a JSON or YAML document
MAX_ALIASES = 10_000                 # alias uses (*name) in one YAML document
MAX_NODES = 1_000_000                # YAML nodes once aliases are expanded
MAX_CONFIG_BYTES = 64 * 1024 ** 2    # a config file
MAX_RESULT_BYTES = 1024 ** 3         # a result file (a day of per-second histograms is ~50 MB)
DEFAULT_MAX_REQUEST_BODY = MAX_REQUEST_BODY  # --max-request-body's default (lunge.settings)
CHUNK = 1 << 20

_max_request_body = DEFAULT_MAX_REQUEST_BODY


def set_max_request_body(limit: int | None) -> None:
    """--max-request-body: the largest request body read from a file (None: the default)."""
    global _max_request_body
    _max_request_body = DEFAULT_MAX_REQUEST_BODY if limit is None else int(limit)


def max_request_body() -> int:
    return _max_request_body


def _size_text(n: int) -> str:
    for unit, scale in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):  # as units.parse_size counts
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return f"{n} bytes"


# ---------------------------------------------------------------- bounded reads

def read_bytes(path: str, limit: int, what: str, flag: str | None = None) -> bytes:
    """At most `limit` bytes of `path`; a longer file (or an endless stream) is a ConfigError
    naming `what` and the flag that raises the limit. OSError propagates to the caller,
    whose message names the file its own way."""
    parts, total = [], 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(min(CHUNK, limit + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                more = f" (raise it with {flag})" if flag else ""
                raise ConfigError(f"{what}: larger than the limit of {_size_text(limit)}{more}")
    return b"".join(parts)


def decode_utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{what}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start})") from None


def read_request_body(path: str, what: str) -> bytes:
    """A request body from a file, capped at --max-request-body."""
    return read_bytes(path, _max_request_body, what, "--max-request-body SIZE")


# ---------------------------------------------------------------- depth

def _too_deep(source: str) -> ConfigError:
    return ConfigError(f"{source}: nested deeper than {MAX_DEPTH} levels")


def check_depth(doc: Any, source: str) -> Any:
    """`doc` if no list or object in it is nested deeper than MAX_DEPTH (checked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_DEPTH:
            raise _too_deep(source)
        stack.extend((v, depth + 1) for v in children if isinstance(v, (dict, list)))
    return doc


def json_loads(text: str, source: str) -> Any:
    """json.loads, with nesting bounded. JSONDecodeError propagates (callers word it)."""
    try:
        doc = json.loads(text)
    except RecursionError:  # the C scanner stops at the recursion limit: deeper than ours anyway
        raise _too_deep(source) from None
    return check_depth(doc, source)


# ---------------------------------------------------------------- YAML

def yaml_load(text: str, source: str, first_document: bool = True) -> Any:
    """The first document of a YAML stream, as yaml.safe_load reads it, with nesting, alias uses
    and alias expansion bounded (`first_document` is kept for callers that say so: it is always so).
    yaml.YAMLError propagates (callers word it)."""
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self._depth = 0
            self._aliases = 0
            self._sizes: dict[int, int] = {}  # id(node) -> nodes once its aliases are expanded

        def _refuse(self, mark, message):
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
            raise ConfigError(f"{where}: {message}")

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                node = super().compose_node(parent, index)
                self._aliases += 1
                if self._aliases > MAX_ALIASES:
                    self._refuse(mark, f"more than {MAX_ALIASES} YAML alias uses")
                if id(node) not in self._sizes:
                    self._refuse(mark, "a YAML alias inside the node it names (a recursive alias)")
                return node
            mark = self.peek_event().start_mark
            self._depth += 1
            if self._depth > MAX_DEPTH:
                self._refuse(mark, f"nested deeper than {MAX_DEPTH} levels")
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
            if isinstance(node, yaml.SequenceNode):
                size = 1 + sum(self._sizes.get(id(c), 1) for c in node.value)
            elif isinstance(node, yaml.MappingNode):
                size = 1 + sum(self._sizes.get(id(k), 1) + self._sizes.get(id(v), 1) for k, v in node.value)
            else:
                size = 1
            if size > MAX_NODES:
                self._refuse(mark, f"more than {MAX_NODES} YAML nodes once aliases are expanded "
                                   f"(an alias bomb?)")
            self._sizes[id(node)] = size
            return node

    loader = BoundedLoader(text)
    try:
        # The first document, as Go's yaml.v3 reads it: a trailing `---` and what follows it (Go
        # Lunge's v2-integration-test.yaml ends in a commented-out document) is never parsed.
        return loader.construct_document(loader.get_node()) if loader.check_node() else None
    except RecursionError:  # a backstop: compose_node refuses long before
        raise _too_deep(source) from None
    finally:
        loader.dispose()
