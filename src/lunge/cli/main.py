"""The `lunge` command group and its entry point, main(): the one place where an error
becomes one line on stderr and an exit status (lunge.errors: 2 for bad input, 70 for a
failure inside lunge, 74 for a report that could not be written). No traceback reaches the
user for any of them.

Colour: NO_COLOR in the environment (https://no-color.org) or --no-color (on the group or
any command) sets click's context colour off, so click.echo strips every escape sequence.
"""
from __future__ import annotations

import os
import sys

import click

from lunge import __version__
from lunge.cli.params import no_color_option
from lunge.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ConfigError, LungeError
from lunge.secretvalues import scrub


def _python_text() -> str:
    import platform
    import sysconfig

    text = f"Python {platform.python_version()} ({platform.python_implementation()}"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        gil_on = getattr(sys, "_is_gil_enabled", lambda: True)()
        text += ", free-threaded; the GIL is " + ("on: lunge's native modules turn it on" if gil_on else "off")
    return text + ")"


def _version_text() -> str:
    from lunge import libcurl
    from lunge._native import engine

    lines = [f"lunge {__version__}", _python_text()]
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
@click.option("--version", "-v", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show lunge's, libcurl's and the engine's versions, and which libcurl file is used.")
@no_color_option
def cli():
    """lunge: HTTP requests, API test suites and native-speed load tests from the terminal."""


@cli.command("help")
@click.argument("command", required=False, metavar="[COMMAND]")
@no_color_option
@click.pass_context
def help_cmd(ctx, command):
    """Show lunge's help, or a command's (the same as `lunge COMMAND --help`)."""
    group_ctx = ctx.parent
    assert group_ctx is not None  # help is always a subcommand of the lunge group
    if command is None:
        click.echo(cli.get_help(group_ctx))
        return
    cmd = cli.get_command(group_ctx, command)
    if cmd is None:
        raise ConfigError(f"help: no such command {command!r} (commands: {', '.join(cli.list_commands(group_ctx))})")
    with click.Context(cmd, info_name=command, parent=group_ctx, **cmd.context_settings) as sub:
        click.echo(cmd.get_help(sub))


@cli.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@no_color_option
def completion(shell):
    """Print the shell completion script for SHELL.

    \b
      bash:  eval "$(lunge completion bash)"   (in ~/.bashrc)
      zsh:   eval "$(lunge completion zsh)"    (in ~/.zshrc)
      fish:  lunge completion fish > ~/.config/fish/completions/lunge.fish
    """
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    assert cls is not None  # the Choice above lists only shells click knows
    # the variable main() answers to: click derives it from the program name
    click.echo(cls(cli, {}, "lunge", "_LUNGE_COMPLETE").source())


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Port (0: any free port; printed first).")
@no_color_option
def serve(host, port):
    """Run the embedded target server (for demos and tests; see `lunge.target`)."""
    from lunge import target

    target.main(host, port)


def main(argv=None):
    """Entry point: every LungeError, usage error and interruption is one line on stderr and
    an exit status."""
    from lunge import safeload, secretvalues

    secretvalues.reset()
    safeload.set_max_request_body(None)  # a limit another invocation in this process set
    # NO_COLOR set to anything but "" turns colour off (no-color.org); None: colour on terminals only
    color = False if os.environ.get("NO_COLOR") else None
    try:
        rc = cli.main(args=argv, prog_name="lunge", standalone_mode=False, color=color)
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
