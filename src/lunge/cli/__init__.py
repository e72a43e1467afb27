"""The `lunge` command line: argv -> settings -> calls. Nothing else lives here."""
from lunge.cli.main import cli, main

__all__ = ["cli", "main"]
