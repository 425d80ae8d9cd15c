"""The drop-in's entry point: ``python -m ssmux.cli.dropin ARGS`` is ``ssmux session-manager-plugin ARGS``.

Why a module of its own: the aws CLI starts the plugin once per session and waits for it, and the ``ssmux``
command group (click, the command table, option parsing) is ~20 ms of that start that the plugin contract
does not need: its arguments are positional and never ssmux options. The launcher that
:func:`ssmux.sessions.shim.install_shim` writes runs this module. Errors and exit statuses are those of the
``ssmux`` command: one line ``ssmux: error: ...`` on stderr (a traceback with ``SSMUX_DEBUG=1``), 1 on
error, 130 when interrupted; an argument that is not UTF-8 takes the command's own path, which says so.
"""

from __future__ import annotations

import os
import sys
import traceback


def main(args: list[str] | None = None) -> int:
    """Run the plugin contract on ``args`` (default: this process's); the exit status."""
    from ssmux.errors import ExitStatus, SsmuxError

    args = sys.argv[1:] if args is None else args
    try:
        for arg in args:
            arg.encode("utf-8")
    except UnicodeEncodeError:
        from ssmux.cli.main import main as ssmux_main

        ssmux_main(["session-manager-plugin", *args])  # says which argument, and exits 2
        return int(ExitStatus.USAGE)
    debug = os.environ.get("SSMUX_DEBUG", "") not in ("", "0")
    try:
        from ssmux.sessions.runner import run_plugin_call

        return run_plugin_call(args)
    except SsmuxError as error:
        from ssmux.cli.main import bounded

        if debug:
            traceback.print_exc()
        sys.stderr.write(f"ssmux: error: {bounded(str(error))}\n")
        return int(error.exit_status)
    except KeyboardInterrupt:
        sys.stderr.write("ssmux: interrupted\n")
        return int(ExitStatus.INTERRUPTED)
    except Exception as error:  # a bug, or the system refusing: one line unless SSMUX_DEBUG asks for more
        if debug:
            raise
        from ssmux.cli.main import _describe_unexpected

        sys.stderr.write(f"ssmux: error: {_describe_unexpected(error)}\n")
        return int(ExitStatus.ERROR)


if __name__ == "__main__":
    sys.exit(main())
