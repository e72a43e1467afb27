"""lunge: an HTTP API tool for the terminal with a native load tester (`lunge perf`)."""
import warnings

__version__ = "0.1.0"

# On a free-threaded CPython (3.14t, 3.15t) importing an extension module that does not declare
# free-threading support turns the GIL on, with a RuntimeWarning for each.  lunge's native modules
# do not declare it (docs/ci.md, "Free-threaded Python"); the load loops run outside the GIL
# anyway, so the warning asks nothing of the user.  `lunge --version` says the GIL is on.
warnings.filterwarnings("ignore", category=RuntimeWarning,
                        message=r"The global interpreter lock \(GIL\) has been enabled to load module 'lunge\._native\.")
