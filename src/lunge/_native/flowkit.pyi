# Type stubs for the flow engine's native parts callable from Python (flowkit.pyx).
KINDS: dict[int, str]

def is_plain_path(path: str) -> bool: ...
def json_path(doc: bytes, path: str) -> tuple[str, str] | None: ...

SEGMENTS: dict[str, int]

def render(segments: list[tuple], variables: list[bytes | None], iteration: int = 0, vu: int = 1, now_ms: int = 0,
           seed: int = 1, cap: int = 65536) -> bytes | None: ...
