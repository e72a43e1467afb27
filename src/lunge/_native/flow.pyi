# Type stubs for the compiled flow engine (flow.pyx).  The hand-off types live in contract.py.
from collections.abc import Iterable

from lunge._native.contract import (
    EngineResults,
    HarvestedSecond,
    ScenarioResults,
    ScenarioSnapshot,
    ScenarioSpec,
    Snapshot,
)

FLOW_VERSION: str
SCENARIO_STATES: tuple[str, ...]

def load_libcurl(path: str) -> None: ...

class FlowEngine:
    def __init__(
        self,
        *,
        scenarios: list[ScenarioSpec],
        insecure: bool = False,
        http2: bool = False,
        http3: str | None = None,
        resolve: Iterable[str] = (),
        cacert: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        max_body: int = 0,
        connect_timeout: float = 0.0,
        grace: float = 5.0,
        max_connections: int = 0,
        body_cap: int = 1048576,
        own_pools: Iterable[tuple[str, int, str]] = (),
    ) -> None: ...
    def run(self) -> None: ...
    def stop(self) -> None: ...
    def abort(self) -> None: ...
    @property
    def running(self) -> bool: ...
    def snapshot(self) -> Snapshot: ...
    def scenario_snapshot(self) -> tuple[ScenarioSnapshot, ...]: ...
    def harvest(self) -> list[HarvestedSecond]: ...
    def results(self) -> EngineResults: ...
    def flow_results(self) -> tuple[ScenarioResults, ...]: ...
