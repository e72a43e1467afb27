"""csrc/lunge_curl.h declares libcurl's ABI numbers by hand (no curl headers needed to build):
check every one against pycurl's constants, which come from the real curl.h."""
import re

import pycurl
import pytest

from conftest import REPO

HEADER = (REPO / "csrc" / "lunge_curl.h").read_text()
CONSTANTS = dict((m.group(1), int(m.group(2), 0)) for m in re.finditer(r"^\s+(CURL\w+) = (0x[0-9A-Fa-f]+|\d+),", HEADER, re.M))
# pycurl exposes no name for these two; check them by libcurl's own arithmetic instead.
ARITHMETIC = {"CURLOPT_PRIVATE": 10000 + 103, "CURLOPT_ERRORBUFFER": 10000 + 10, "CURLINFO_PRIVATE": 0x100000 + 21,
              "CURLE_OK": 0, "CURLM_OK": 0, "CURLMSG_DONE": 1, "CURL_GLOBAL_DEFAULT": 3, "CURLUPART_URL": 0,
              "CURLPIPE_NOTHING": 0,
              "CURLOPT_SOCKOPTDATA": 10000 + 149, "CURLE_OPERATION_TIMEDOUT": 28}


def pycurl_name(name):
    for prefix, repl in (("CURLOPT_", ""), ("CURLINFO_", ""), ("CURLMOPT_", "M_"), ("CURLPIPE_", "PIPE_")):
        if name.startswith(prefix):
            return repl + name[len(prefix):]
    return name


def test_header_declares_constants():
    assert len(CONSTANTS) > 50


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_constant_matches_libcurl(name):
    if name in ARITHMETIC:
        assert CONSTANTS[name] == ARITHMETIC[name]
    else:
        assert CONSTANTS[name] == getattr(pycurl, pycurl_name(name)), name
