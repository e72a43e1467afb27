# Type stubs for the compiled engine (engine.pyx).  The hand-off types live in contract.py.
import re
from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict

from numpy.typing import ArrayLike

from lunge._native.contract import EngineResults, HarvestedSecond, Snapshot

ENGINE_VERSION: str
BUILD: str
OWN_POOL_PREFIX: str
OWN_POOL_SUFFIX: str
OWN_POOL_VIA: re.Pattern[str]

class EngineError(RuntimeError): ...

class _LibcurlInfo(TypedDict):  # stub only: the dict load_libcurl returns
    version: str
    ssl: str | None
    http2: bool
    http3: bool
    allocator: Literal["lunge", "default"]

def load_libcurl(path: str) -> _LibcurlInfo: ...

class _PlatformInfo(TypedDict):  # stub only: the dict platform() returns
    clock: str
    waits: str
    allocator_built: bool
    allocator: Literal["lunge", "default"]

def platform() -> _PlatformInfo: ...

class Engine:
    def __init__(
        self,
        *,
        url: str,
        method: str = "GET",
        headers: Iterable[str] = (),
        body: bytes | None = None,
        concurrency: int = 1,
        iterations: int = 0,
        duration: float = 0.0,
        timeout: float = 0.0,
        connect_timeout: float = 0.0,
        grace: float = 5.0,
        insecure: bool = False,
        http2: bool = False,
        http3: str | None = None,
        follow: bool = False,
        max_redirects: int = 10,
        resolve: Iterable[str] = (),
        user_agent: str = "lunge",
        cacert: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        schedule: tuple[ArrayLike, ArrayLike] | None = None,
        concurrency_steps: tuple[Sequence[float], Sequence[int]] | None = None,
        warmup: float = 0.0,
        warmup_iterations: int = 0,
        variants: Sequence[tuple[str, Iterable[str], bytes | None]] | None = None,
        backoff: float = 0.0,
        backoff_max: float = 0.0,
        variant_stride: int = 1,
        variant_offset: int = 0,
        variant_group: int = 1,
        variant_round: int | None = None,
        max_body: int = 0,
        low_speed_limit: int = 0,
        low_speed_time: int = 0,
        own_pools: tuple[str, int, str] | None = None,
    ) -> None: ...
    def run(self) -> None: ...
    def stop(self) -> None: ...
    def abort(self) -> None: ...
    @property
    def running(self) -> bool: ...
    def snapshot(self) -> Snapshot: ...
    def harvest(self) -> list[HarvestedSecond]: ...
    def results(self) -> EngineResults: ...
