"""How ``ssmux exec`` keeps its promise on AWS: the command line, the request, and the exit-status marker.

The SSM agent does not give a NonInteractiveCommands string to a shell: it splits it into words and runs the
first (agent ``agent/session/shell/shell_unix.go``). So the user's command line (the words after ``--``
joined with spaces, as ssh does) goes out quoted with :func:`shlex.join` for ``sh -c``: ``sh -c <line>``.

* First with ``separateOutputStream=true`` (recent ``AWS-StartNonInteractiveCommand``): stdout and stderr
  arrive apart and the agent sends ``EXIT_CODE``. The agent's Ctrl-C (SIGINT) and TerminateSession (SIGKILL)
  reach that ``sh`` (or the command itself, when ``sh`` runs a lone command in its own place).
* A document without that parameter (older versions, or an account's own) makes StartSession answer
  InvalidParameters; the request is repeated without it. stdout and stderr then arrive merged (in Output),
  once the command has ended, and no ``EXIT_CODE`` comes. So the line is wrapped once more::

      sh -c 'sh -c "$1"; s=$?; printf "%s%d\\n" "$2" "$s"; exit "$s"' sh <line> <token>

  The inner shell runs the line; the outer one then prints a marker, ``<token><status>\\n``, and exits
  with the same status. ``token`` is random per run, so no output can forge it; it needs no line of its
  own, so output that does not end with a newline comes back exactly as it was. :class:`ExitMarker` reads
  the status and removes the marker.

An agent too old to know ``separateOutputStream`` merges without ``EXIT_CODE`` even when asked: ``exec``
then says that the status was not reported.

A container (ECS Exec) has no NonInteractiveCommands: ``ecs:ExecuteCommand`` is interactive only, so the
command runs in a pty, stdout and stderr merged, and the agent sends no exit code for it (agent
``agent/session/shell/shell.go``). Its agent, in container mode, splits the command with shlex and runs it
without a shell (``shell_unix.go``), as above. :func:`container_command` wraps the line the same way, with
the marker, and first turns off the pty's echo and its ``\n`` -> ``\r\n`` translation (``stty``, when the
image has it), so stdout comes back as the command wrote it::

      sh -c 'stty -echo -onlcr 2>/dev/null; sh -c "$1"; s=$?; printf ...' sh <line> <token>

The marker is read with or without a ``\r`` before its newline (an image without ``stty``).
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Sequence

__all__ = [
    "SEPARATE_OUTPUT",
    "WRAPPER",
    "ExitMarker",
    "command_line",
    "container_command",
    "exec_parameters",
    "new_token",
]

#: The ``AWS-StartNonInteractiveCommand`` parameter that asks the agent for stderr and the exit code apart.
SEPARATE_OUTPUT = "separateOutputStream"

#: The outer shell's script: run the line in a shell of its own, then print the marker with its status.
WRAPPER = 'sh -c "$1"; s=$?; printf \'%s%d\\n\' "$2" "$s"; exit "$s"'


#: The wrapper of a container's command: the pty made raw for output first (see the module docstring).
CONTAINER_WRAPPER = "stty -echo -onlcr 2>/dev/null; " + WRAPPER


def new_token() -> str:
    """A fresh marker token (printable, never produced by chance)."""
    return f"ssmux-exit-{secrets.token_hex(12)}="


def command_line(words: Sequence[str]) -> str:
    """The remote command line of ``ssmux exec host -- WORDS...``: the words joined with spaces, as in ssh."""
    return " ".join(words)


def exec_parameters(line: str, *, separate: bool = True, token: str | None = None) -> dict[str, list[str]]:
    """StartSession ``Parameters`` running ``line`` with ``AWS-StartNonInteractiveCommand`` (or the like).

    Args:
        line: the shell command line to run.
        separate: ask for ``separateOutputStream`` (stdout, stderr and the exit code apart).
        token: wrap the line so that it prints the exit-status marker with this token (for merged output).
    """
    argv = ["sh", "-c", line] if token is None else ["sh", "-c", WRAPPER, "sh", line, token]
    params = {"command": [shlex.join(argv)]}
    if separate:
        params[SEPARATE_OUTPUT] = ["true"]
    return params


def container_command(line: str, token: str | None = None) -> str:
    """The ``ExecuteCommand`` command running ``line`` in a container's ``sh``: with ``token``, wrapped to
    print the exit-status marker (the native client reads it); without, ``sh -c <line>`` alone (the plugin
    or the aws CLI prints what comes, so no marker could be removed)."""
    argv = ["sh", "-c", line] if token is None else ["sh", "-c", CONTAINER_WRAPPER, "sh", line, token]
    return shlex.join(argv)


class ExitMarker:
    """Removes the exit-status marker from the remote stdout and reads the status from it.

    Output is printed as it comes, except a tail that could be the start of the marker (rarely more than
    nothing: the token begins ``ssmux-exit-``), which waits for the next bytes or the end.

    Args:
        token: the token given to :func:`exec_parameters`.
    """

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        self._pattern = re.compile(re.escape(self._token) + rb"(-?\d{1,11})\r?\n")
        self._held = bytearray()
        self.code: int | None = None

    def feed(self, data: bytes) -> bytes:
        """Take output; return what can be printed now."""
        self._held += data
        keep = self._marker_tail()
        ready = bytes(self._held[: len(self._held) - keep])
        del self._held[: len(self._held) - keep]
        return ready

    def finish(self) -> bytes:
        """The output has ended: the rest to print, without the marker; :attr:`code` is set if it came."""
        rest, self._held = bytes(self._held), bytearray()
        match = self._pattern.search(rest)
        if match is None:
            return rest
        self.code = int(match.group(1))
        return rest[: match.start()] + rest[match.end() :]

    def _marker_tail(self) -> int:
        """How many bytes at the end of what is held may belong to the marker."""
        found = self._held.find(self._token)
        if found >= 0:
            return len(self._held) - found  # the marker and anything after it: wait for the end
        for size in range(min(len(self._held), len(self._token) - 1), 0, -1):
            if self._held.endswith(self._token[:size]):
                return size
        return 0
