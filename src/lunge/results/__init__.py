"""What a run measured: the RunResult model (mergeable histograms, per-second series,
counters) and its JSON codec."""
from lunge.results.model import STATUS_CLASSES, RunResult, Second, SparseHist, decode_hist, encode_hist, load

__all__ = ["STATUS_CLASSES", "RunResult", "Second", "SparseHist", "decode_hist", "encode_hist", "load"]
