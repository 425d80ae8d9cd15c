""" "Connect in external terminal": ``ssmux connect`` in a terminal window of its own.

The command is always an argv list: ``[python, -m, ssmux, connect, INSTANCE_ID, --aws-profile P, --region R]``
with the instance id (validated hex) rather than a profile name, so nothing a user typed into a name reaches a
shell. The terminal program is, in order: ``$SSMUX_TERMINAL`` or ``$TERMINAL`` (a command that runs what
follows ``-e``), then the usual ones for the platform. On macOS Terminal.app only takes a script, so the argv
is written into a temporary ``.command`` file with each word quoted by :func:`shlex.quote`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from ssmux.errors import BackendUnavailable

# (program, the option before the command to run) in order of preference on Linux/BSD desktops.
_LINUX_TERMINALS = (
    ("x-terminal-emulator", "-e"),
    ("gnome-terminal", "--"),
    ("konsole", "-e"),
    ("xfce4-terminal", "-x"),
    ("kitty", "--"),
    ("alacritty", "-e"),
    ("wezterm", "start --"),
    ("xterm", "-e"),
)


def connect_argv(instance_id: str, aws_profile: str | None, region: str | None) -> list[str]:
    """The ``ssmux connect`` command for a target, as argv."""
    argv = [sys.executable, "-m", "ssmux", "connect", instance_id]
    if aws_profile:
        argv += ["--aws-profile", aws_profile]
    if region:
        argv += ["--region", region]
    return argv


def terminal_argv(command: list[str], platform: str = sys.platform) -> list[str]:
    """The argv that opens a terminal window running ``command``.

    Raises:
        BackendUnavailable: No terminal program was found; the message says how to name one.
    """
    configured = os.environ.get("SSMUX_TERMINAL") or os.environ.get("TERMINAL")
    if configured:
        return [*shlex.split(configured), "-e", *command]
    if platform == "win32":
        # A new console window for a console program; no shell involved.
        return command
    if platform == "darwin":
        script = Path(tempfile.mkdtemp(prefix="ssmux-")) / "connect.command"
        script.write_text("#!/bin/sh\nexec " + " ".join(shlex.quote(word) for word in command) + "\n")
        script.chmod(0o700)
        return ["open", "-a", "Terminal", str(script)]
    for program, option in _LINUX_TERMINALS:
        path = shutil.which(program)
        if path:
            return [path, *option.split(), *command]
    raise BackendUnavailable(
        "no terminal program found: set SSMUX_TERMINAL (or TERMINAL) to one, e.g. SSMUX_TERMINAL=xterm"
    )


def open_external(instance_id: str, aws_profile: str | None, region: str | None) -> subprocess.Popen[bytes]:
    """Start the terminal window; it runs on its own (the app does not wait for it).

    Raises:
        BackendUnavailable: No terminal program, or it cannot be started.
    """
    argv = terminal_argv(connect_argv(instance_id, aws_profile, region))
    flags = getattr(subprocess, "CREATE_NEW_CONSOLE", 0) if sys.platform == "win32" else 0
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=sys.platform != "win32",
            creationflags=flags,
        )
    except OSError as error:
        raise BackendUnavailable(f"cannot start {argv[0]}: {error.strerror or error}") from None
    # Reap it when the window closes, so no zombie is left behind.
    threading.Thread(target=process.wait, name="ssmux-external-terminal", daemon=True).start()
    return process
