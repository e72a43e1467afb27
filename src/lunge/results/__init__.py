"""What a run measured: the RunResult model (mergeable histograms, per-second series,
counters) and its JSON codec."""
from lunge.results.codec import decode, decode_hist, encode, encode_hist, load
from lunge.results.model import STATUS_CLASSES, RunResult, Second, SparseHist

__all__ = ["STATUS_CLASSES", "RunResult", "Second", "SparseHist", "decode", "decode_hist", "encode", "encode_hist",
           "load"]
