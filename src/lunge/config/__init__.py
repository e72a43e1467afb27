"""Config files (JSON or YAML): load.py reads and validates them, model.py is what they hold,
render.py turns a named request into what gets sent."""
from lunge.config.load import config_schema, load_config
from lunge.config.model import (
    OPERATORS,
    SUBJECTS,
    Config,
    LoadConfig,
    LoadPattern,
    MonitoringConfig,
    PerformanceTest,
    RateStep,
    Reporting,
    Warmup,
    did_you_mean,
    parse_jsonpath,
)
from lunge.config.render import ResolvedRequest, build_request, encode_body, resolve_request, scope_for

__all__ = ["OPERATORS", "SUBJECTS", "Config", "LoadConfig", "LoadPattern", "MonitoringConfig", "PerformanceTest",
           "RateStep", "Reporting", "ResolvedRequest", "Warmup", "build_request", "config_schema", "did_you_mean",
           "encode_body", "load_config", "parse_jsonpath", "resolve_request", "scope_for"]
