"""The `lunge` command group and its entry point, main(): the one place where an error
becomes one line on stderr and an exit status (lunge.errors: 2 for bad input, 70 for a
failure inside lunge, 74 for a report that could not be written). No traceback reaches the
user for any of them.
"""
from __future__ import annotations

import sys

import click

from lunge import __version__
from lunge.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, LungeError
from lunge.secretvalues import scrub


def _version_text() -> str:
    from lunge import libcurl
    from lunge._native import engine

    lines = [f"lunge {__version__}"]
    try:
        info = libcurl.load()
        feats = ", ".join(f for f, on in (("HTTP/2", info["http2"]), ("HTTP/3", info["http3"])) if on)
        lines.append(f"libcurl {info['version']} ({info['ssl']}; {feats or 'HTTP/1.1 only'})")
        lines.append(f"engine {engine.ENGINE_VERSION} ({engine.BUILD})")
        lines.append(f"engine libcurl file: {info['path']} ({info['origin']})")
        lines.append("libcurl allocator: " + ("lunge's (a per-thread stash of small blocks in front of glibc's malloc)"
                                              if info["allocator"] == "lunge" else "libcurl's default"))
    except LungeError as e:
        lines.append(f"libcurl: unavailable ({e.message})")
    return "\n".join(lines)


def _print_version(ctx, _param, value):
    if value and not ctx.resilient_parsing:
        click.echo(_version_text())
        ctx.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show lunge's, libcurl's and the engine's versions, and which libcurl file is used.")
def cli():
    """lunge: HTTP requests, API test suites and native-speed load tests from the terminal."""


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Port (0: any free port; printed first).")
def serve(host, port):
    """Run the embedded target server (for demos and tests; see `lunge.target`)."""
    from lunge import target

    target.main(host, port)


def main(argv=None):
    """Entry point: every LungeError, usage error and interruption is one line on stderr and
    an exit status."""
    from lunge import secretvalues

    secretvalues.reset()
    try:
        rc = cli.main(args=argv, prog_name="lunge", standalone_mode=False)
    except click.exceptions.Exit as e:
        rc = e.exit_code
    except click.ClickException as e:  # usage errors: bad flags and values
        click.echo(f"lunge: {scrub(e.format_message())}", err=True)
        rc = EXIT_USAGE
    except LungeError as e:
        click.echo(f"lunge: {scrub(e.message)}", err=True)
        rc = e.exit_code
    except RecursionError:  # a backstop: input is depth-bounded (lunge.safeload) long before this
        click.echo("lunge: input nested too deeply to process", err=True)
        rc = EXIT_USAGE
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("lunge: interrupted", err=True)
        rc = EXIT_INTERRUPTED
    sys.exit(rc if isinstance(rc, int) else EXIT_OK)


# The load-testing commands, then the request toolkit: get/post/put/delete/patch/head, run, test, validate.
from lunge.cli.perf import compare_cmd, demo, merge, perf  # noqa: E402
from lunge.cli.toolkit import register as _register_toolkit  # noqa: E402

for _command in (perf, compare_cmd, demo, merge):
    cli.add_command(_command)
_register_toolkit(cli)
