"""The far end of ``ssmux cp``: POSIX sh scripts that need nothing on the target but sh and coreutils.

Which session kind carries which bytes (amazon-ssm-agent ``agent/session/shell/shell_unix.go``
``StartCommandExecutor`` and ``shell.go``):

* **NonInteractiveCommands with separateOutputStream** runs the command with stdout and stderr on pipes: no
  pty, so no line discipline touches the bytes. But its stdin is nil: input messages only ever deliver
  Ctrl-C/Ctrl-\\ as signals (``InputStreamMessageHandler``). Downloads use it: :data:`LIST_SCRIPT` (stat and
  sha256 of the source) and :data:`STREAM_SCRIPT` (byte ranges).
* The agent sends pipe output through ``processStdoutData``, which re-encodes UTF-8 rune by rune: a literal
  U+FFFD (``EF BF BD``) in the data comes out as the single byte ``EF``, and an invalid sequence in the last
  three bytes before EOF is held back and never sent. So every block of a range is followed by a random
  ASCII token: the token flushes the held bytes, and a block that arrives shorter than asked was mangled
  (it can only shrink); such a block is fetched again base64-encoded.
* **InteractiveCommands** (``sh -c <command>`` in a pty) is the only kind whose stdin reaches the process.
  Uploads use it: :data:`RECEIVE_SCRIPT` puts the pty in raw mode (``stty raw -echo -iexten``, after which
  the line discipline passes every byte through) and then reads, per file, a header line, a length-prefixed
  body taken with ``head -c N`` (the pty never signals the end of input, so the length is sent first; GNU
  head never reads past N), and answers each step with a token-marked line.

Names are never part of a script: they are arguments (``sh -c SCRIPT sh ARGS...``, each word quoted with
:func:`shlex.join` for the agent's split), or, inside the upload stream, octal escapes decoded by ``printf``.
Every command that takes a name gets ``--`` first, so names with leading dashes are names.
"""

from __future__ import annotations

import shlex
import string
from collections.abc import Sequence

__all__ = [
    "LIST_SCRIPT",
    "RECEIVE_SCRIPT",
    "STREAM_SCRIPT",
    "encode_name",
    "script_line",
]

#: A sha256 of stdin, whichever tool the target has; ``h FILE`` prints the hex digest alone.
_HASH = (
    "if command -v sha256sum >/dev/null 2>&1; then H=sha256sum; "
    "elif command -v shasum >/dev/null 2>&1; then H='shasum -a 256'; "
    "else H='openssl dgst -sha256'; fi; "
    'h() { r=$($H < "$1") || return 1; case $r in *=*) r=${r##*= };; esac; printf %s "${r%% *}"; }; '
)

#: ``~`` or ``~/...`` at the start of a name is the session user's home (the agent sets HOME for it); a
#: session's working directory is the agent's own, not the home, so ``~/`` is how to name the home.
_TILDE = 'home() { case $1 in "~") r=$HOME;; "~/"*) r=$HOME/${1#"~/"};; *) r=$1;; esac; }; '

#: ``sh -c LIST_SCRIPT sh PATH``: NUL-separated records ``KIND, "MODE SIZE MTIME", SHA256, RELATIVE PATH``
#: for PATH itself (relative path empty) and, for a directory, everything below it (symlinked directories
#: are skipped, so a loop cannot recurse). Exit 2: PATH does not exist; 3: neither a file nor a directory.
LIST_SCRIPT = (
    _HASH + "m() { stat -c '%a %s %Y' -- \"$1\" 2>/dev/null || stat -f '%Lp %z %m' -- \"$1\"; }; "
    'rec() { printf \'%s\\0%s\\0%s\\0%s\\0\' "$1" "$(m "$2")" "$3" "$4"; }; '
    'walk() { for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do r=${e#"$p"/}; '
    'if [ -L "$e" ] && [ -d "$e" ]; then continue; '
    'elif [ -d "$e" ]; then rec D "$e" - "$r"; walk "$e"; '
    'elif [ -f "$e" ]; then rec F "$e" "$(h "$e")" "$r"; fi; done; }; '
    + _TILDE
    + 'home "$1"; p=$r; if [ -d "$p" ]; then rec D "$p" - ""; walk "$p"; '
    'elif [ -f "$p" ]; then rec F "$p" "$(h "$p")" ""; '
    'elif [ -e "$p" ]; then echo "not a regular file or directory: $p" >&2; exit 3; '
    'else echo "no such file or directory: $p" >&2; exit 2; fi'
)

#: ``sh -c STREAM_SCRIPT sh TOKEN BLOCK MODE [OFFSET LENGTH PATH]...``: each range in blocks of at most
#: BLOCK bytes, each block followed by TOKEN; MODE ``b`` base64-encodes every block (the fallback).
STREAM_SCRIPT = (
    _TILDE + "t=$1; b=$2; x=$3; shift 3; "
    'while [ $# -gt 2 ]; do o=$1; e=$(($1 + $2)); home "$3"; f=$r; shift 3; '
    'while [ "$o" -lt "$e" ]; do n=$((e - o)); if [ "$n" -gt "$b" ]; then n=$b; fi; '
    'if [ "$x" = b ]; then tail -c +$((o + 1)) -- "$f" | head -c "$n" | base64; '
    'else tail -c +$((o + 1)) -- "$f" | head -c "$n"; fi; '
    'printf %s "$t"; o=$((o + n)); done; done'
)

#: ``sh -c RECEIVE_SCRIPT sh TOKEN`` in a pty: raw mode, then ``TOKEN READY`` and one request at a time:
#:
#: * ``D NAME``: ``mkdir -p``; ``M MODE STAMP NAME``: chmod and ``touch -t STAMP`` (UTC); both answer ``OK``
#:   or ``ERR``.
#: * ``F SIZE SHA256 NAME``: answers ``HAVE N SHA`` (the bytes and digest of ``NAME.part`` so far, ``-``
#:   for none) or ``ERR``; then takes ``OFFSET`` and the SIZE - OFFSET bytes from OFFSET, appends them
#:   to ``NAME.part`` (truncated first when OFFSET is 0), and when the whole part's digest is SHA256
#:   renames it to NAME and answers ``OK``, else ``BAD DIGEST``. A write that fails still drains the body,
#:   so the stream stays in step.
#: * ``S NAME``: answers ``IS D`` (a directory), ``IS F`` (something else) or ``IS N`` (nothing).
#: * ``Q``: answers ``BYE`` and ends.
#:
#: NAME is :func:`encode_name`'s octal escapes, turned back into bytes by ``printf``.
RECEIVE_SCRIPT = (
    _HASH + _TILDE + 't=$1; say() { printf "%s %s\\n" "$t" "$*"; }; '
    'dec() { n=$(printf "$1"x); home "${n%x}"; n=$r; }; '
    "set -f; stty raw -echo -iexten 2>/dev/null || { say ERR stty; exit 1; }; say READY; "
    "while IFS= read -r l; do set -- $l; case $1 in "
    "Q) say BYE; break;; "
    'S) dec "$2"; if [ -d "$n" ]; then say IS D; elif [ -e "$n" ]; then say IS F; else say IS N; fi;; '
    'D) dec "$2"; if mkdir -p -- "$n" 2>/dev/null; then say OK; else say ERR; fi;; '
    'M) dec "$4"; if chmod "$2" -- "$n" 2>/dev/null && TZ=UTC0 touch -t "$3" -- "$n" 2>/dev/null; '
    "then say OK; else say ERR; fi;; "
    'F) s=$2; d=$3; dec "$4"; q="$n.part"; '
    'if ! : >> "$q" 2>/dev/null; then say ERR; continue; fi; '
    'c=$(wc -c < "$q"); c=$((c)); g=-; if [ "$c" -gt 0 ]; then g=$(h "$q"); fi; say HAVE "$c" "$g"; '
    'IFS= read -r o; if [ "$o" -eq 0 ]; then : > "$q" 2>/dev/null; fi; '
    'head -c $((s - o)) | { cat >> "$q" 2>/dev/null || cat > /dev/null; }; '
    'g=$(h "$q"); if [ "$g" = "$d" ] && mv -f -- "$q" "$n" 2>/dev/null; then say OK; else say BAD "$g"; fi;; '
    "*) say ERR;; esac; done"
)

#: Bytes left as they are: no ``-``, so the format never starts like an option of printf.
_PLAIN = frozenset((string.ascii_letters + string.digits + "._/").encode())


def encode_name(name: str) -> str:
    """``name`` as a ``printf`` format that prints it back: plain bytes as is, the rest as ``\\ooo``.

    The result has no spaces, no ``%`` and no glob characters, so it survives the receiver's word split.
    """
    return "".join(
        chr(byte) if byte in _PLAIN else f"\\{byte:03o}" for byte in name.encode("utf-8", "surrogateescape")
    )


def script_line(script: str, args: Sequence[str]) -> str:
    """The ``command`` parameter running ``script`` with ``args`` as its positional parameters."""
    return shlex.join(["sh", "-c", script, "sh", *args])
