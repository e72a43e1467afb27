"""csrc/lunge_curl.h declares libcurl's ABI numbers by hand (no curl headers needed to build),
and src/lunge/_native/curl.pxd declares the part of it the engine uses: check every number
against pycurl's constants (which come from the real curl.h) or, for the few pycurl does not
name, against the loaded libcurl itself; and check that the .pxd and the header agree."""
import ctypes
import re

import pycurl
import pytest

from conftest import REPO

HEADER = (REPO / "csrc" / "lunge_curl.h").read_text()
PXD = (REPO / "src" / "lunge" / "_native" / "curl.pxd").read_text()
# The modules that cimport curl.pxd (and xfer.pxd, their shared part): a constant it declares is used by one of them.
ENGINE = "\n".join((REPO / "src" / "lunge" / "_native" / f).read_text() for f in ("engine.pyx", "flow.pyx", "xfer.pxd"))
CONSTANTS = dict((m.group(1), int(m.group(2), 0)) for m in re.finditer(r"^\s+(CURL\w+) = (0x[0-9A-Fa-f]+|\d+),", HEADER, re.M))
# The names curl.pxd declares in its `enum:` block (indented names alone on their line).
PXD_CONSTANTS = set(re.findall(r"^ {8}(CURL\w+)$", PXD, re.M))

# pycurl exposes no name for these; check them by libcurl's own arithmetic (option and info
# numbers are a type base plus an index) or documented value instead.
ARITHMETIC = {"CURLOPT_PRIVATE": 10000 + 103, "CURLOPT_ERRORBUFFER": 10000 + 10, "CURLINFO_PRIVATE": 0x100000 + 21,
              "CURLM_OK": 0, "CURLMSG_DONE": 1, "CURL_GLOBAL_DEFAULT": 3, "CURLPIPE_NOTHING": 0,
              "CURLOPT_SOCKOPTDATA": 10000 + 149, "CURLOPT_PREREQDATA": 10000 + 313,
              "CURLOPT_HEADERDATA": 10000 + 29,  # pycurl: WRITEHEADER
              "CURL_ERROR_SIZE": 256,  # curl.h: #define CURL_ERROR_SIZE 256
              "CURLINFO_HTTP_VERSION": 0x200000 + 46}  # pycurl: INFO_HTTP_VERSION (HTTP_VERSION is the option)
# CURLcodes pycurl does not name: libcurl's own message for the number says which it is.
STRERROR = {"CURLE_WEIRD_SERVER_REPLY": "Weird server reply",
            "CURLE_OBSOLETE51": "Unknown error",  # unused since 7.62 (was PEER_FAILED_VERIFICATION)
            "CURLE_HTTP2_STREAM": "Stream error in the HTTP/2 framing layer",
            "CURLE_HTTP3": "HTTP/3 error",
            "CURLE_QUIC_CONNECT_ERROR": "QUIC connection error",
            "CURLE_SSL_CLIENTCERT": "SSL Client Certificate required",
            "CURLE_TOO_LARGE": "A value or data field grew larger than allowed"}


def pycurl_name(name):
    for prefix, repl in (("CURLOPT_", ""), ("CURLINFO_", ""), ("CURLMOPT_", "M_"), ("CURLPIPE_", "PIPE_"),
                         ("CURLE_", "E_"), ("CURL_VERSION_", "VERSION_"), ("CURLUPART_", "UPART_"),
                         ("CURL_SOCKOPT_", "SOCKOPT_"), ("CURL_PREREQFUNC_", "PREREQFUNC_")):
        if name.startswith(prefix):
            return repl + name[len(prefix):]
    return name


@pytest.fixture(scope="module")
def strerror():
    from lunge.libcurl import locate

    lib = ctypes.CDLL(locate()[0])
    lib.curl_easy_strerror.restype = ctypes.c_char_p
    lib.curl_easy_strerror.argtypes = [ctypes.c_int]
    return lambda code: lib.curl_easy_strerror(code).decode()


def test_header_declares_constants():
    assert len(CONSTANTS) > 80 and len(PXD_CONSTANTS) > 80


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constant_matches_libcurl(name, strerror):
    if name in ARITHMETIC:
        assert CONSTANTS[name] == ARITHMETIC[name]
    elif name in STRERROR:
        assert strerror(CONSTANTS[name]) == STRERROR[name], name
    else:
        assert CONSTANTS[name] == getattr(pycurl, pycurl_name(name)), name


def test_pxd_declares_only_header_constants():
    assert PXD_CONSTANTS <= set(CONSTANTS), sorted(PXD_CONSTANTS - set(CONSTANTS))


def test_every_constant_is_used():
    # A number in the header is there for the engines (declared in curl.pxd and used in
    # engine.pyx or flow.pyx) or for the header's own code; nothing else.
    header_code = HEADER[HEADER.index("} lunge_curl_api;"):]
    for name in CONSTANTS:
        used_by_engine = name in PXD_CONSTANTS and re.search(rf"\b{name}\b", ENGINE)
        assert used_by_engine or re.search(rf"\b{name}\b", header_code), name
    for name in PXD_CONSTANTS:
        assert re.search(rf"\b{name}\b", ENGINE), f"curl.pxd declares {name}, which neither engine.pyx nor flow.pyx uses"
