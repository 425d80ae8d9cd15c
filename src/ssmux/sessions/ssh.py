"""ssh over Session Manager: the ProxyCommand session, and the system ``ssh``'s argv that uses it.

``ssmux proxy TARGET PORT`` is what ssh runs as its ``ProxyCommand``: an ``AWS-StartSSHSession`` session
(its one parameter ``portNumber``) with the native client, whose local end is this process's stdin and
stdout (the §8.1 *stream* mode: the document has no ``type``, so the agent relays one connection and the
client relays stdio). It is run like any other port session, through the runner's :class:`Router`, which
picks :func:`ssmux.sessions.forward.port_frontend` once the agent says the session type: no second
transport, no aws CLI, no plugin.

``ssmux ssh [USER@]TARGET [ssh args...]`` resolves TARGET once, here, where a terminal can show the picker,
then runs the system ``ssh`` with:

* ``ProxyCommand <ssmux> proxy <instance-id> --aws-profile P --region R %p``, each word quoted for the
  shell ssh runs it with (``shlex.quote``) and ``%`` doubled (ssh expands ``%`` tokens before the shell
  sees the line); ``<ssmux>`` is this Python with ``-m ssmux``, so the proxy is the same ssmux;
* ``HostKeyAlias <instance-id>``: the host key is remembered under the instance id, whatever name reached it
  (``ssmux ssh web-1``, ``ssh web-1`` through :mod:`ssmux.sessions.ssh_config`, the id itself), and never
  mixed up with a real host that happens to share a name;
* the instance id as the host name, and the user of ``USER@TARGET`` (none given: ssh's own default,
  ``User`` of ``~/.ssh/config`` or the local user name).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ssmux.errors import InvalidValue

if TYPE_CHECKING:
    from ssmux.sessions.backends import SessionRequest

SSH_DOCUMENT = "AWS-StartSSHSession"
DEFAULT_SSH_PORT = 22


@dataclass(frozen=True)
class SshTarget:
    """Where ``ssh`` goes: the instance, the profile and region of its session, and the OS user if given."""

    instance_id: str
    aws_profile: str | None
    region: str | None
    user: str | None = None


def split_user(text: str) -> tuple[str | None, str]:
    """``USER@TARGET`` into its user and target (``None`` when no ``@`` comes before the target).

    Raises:
        InvalidValue: an empty user or target around the ``@``.
    """
    user, sep, target = text.rpartition("@")
    if not sep:
        return None, text
    if not user or not target:
        raise InvalidValue(f"'{text}' is not USER@TARGET: give both, e.g. ec2-user@web-1")
    return user, target


def ssmux_command() -> list[str]:
    """The argv that runs this same ssmux: this Python with ``-m ssmux`` (a venv's, pipx's, or a wheel's)."""
    return [sys.executable, "-m", "ssmux"]


def proxy_argv(target: SshTarget, port: str = "%p") -> list[str]:
    """``ssmux proxy`` for ``target``, as ssh's ProxyCommand runs it (``%p``: the port ssh was given)."""
    argv = [*ssmux_command(), "proxy", target.instance_id]
    if target.aws_profile:
        argv += ["--aws-profile", target.aws_profile]
    if target.region:
        argv += ["--region", target.region]
    return [*argv, port]


def proxy_command(target: SshTarget, platform: str = sys.platform) -> str:
    """The ProxyCommand line: each word quoted, ``%`` doubled (ssh's token character), then ``%p``.

    OpenSSH runs the line with the user's shell (``$SHELL -c "exec ..."``), so words are quoted for a POSIX
    shell; Windows' OpenSSH hands it to ``CreateProcess``, so there the words are quoted as
    ``subprocess.list2cmdline`` quotes a Windows command line.
    """
    words = proxy_argv(target, port="")[:-1]
    if platform == "win32":
        import subprocess

        line = subprocess.list2cmdline(words)
    else:
        line = " ".join(shlex.quote(word) for word in words)
    return line.replace("%", "%%") + " %p"


def find_ssh(override: str | None = None) -> str:
    """The ``ssh`` to run: ``override`` (a path or a name on PATH), else ``ssh`` on PATH.

    Raises:
        InvalidValue: it cannot be found.
    """
    wanted = override or "ssh"
    found = shutil.which(wanted)
    if found is None:
        if override:
            raise InvalidValue(
                f"--ssh {override}: not found or not executable: give the path of an ssh client"
            )
        raise InvalidValue(
            "ssh is not on PATH: install OpenSSH's client (apt install openssh-client, or Windows' optional "
            "feature OpenSSH Client), or give its path with --ssh"
        )
    return found


def ssh_argv(
    ssh: str,
    target: SshTarget,
    ssh_args: Sequence[str] = (),
    *,
    identity: Path | None = None,
) -> list[str]:
    """The system ssh's argv for ``target``; ``ssh_args`` (options, then the remote command) go last.

    ``identity``: the private key to offer first (``--push-key``'s), with ``IdentitiesOnly`` so ssh does
    not spend the server's few authentication tries on agent keys before it.
    """
    argv = [ssh, "-o", f"ProxyCommand={proxy_command(target)}", "-o", f"HostKeyAlias={target.instance_id}"]
    if identity is not None:
        argv += ["-i", str(identity), "-o", "IdentitiesOnly=yes"]
    if target.user:
        argv += ["-l", target.user]
    # ssh takes options before the host; what follows the host is the remote command. ssmux's users write
    # `ssmux ssh web-1 -p 2222 uptime` as they would `ssh web-1 -p 2222 uptime` (ssh reorders such options
    # itself on glibc, not elsewhere), so the options among ssh_args go before the host here.
    options, command = split_ssh_args(ssh_args)
    return [*argv, *options, target.instance_id, *command]


#: ssh options that take a value (OpenSSH's ssh.c getopt string), so their value is not taken for the host.
_WITH_VALUE = set("BbcDEeFIiJLlmOoPpQRSWw")


def split_ssh_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """ssh's own options, and the remote command after them (from the first word that is no option)."""
    options: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        if word == "--":
            return options, list(args[index + 1 :])
        if not word.startswith("-") or word == "-":
            break
        options.append(word)
        if _takes_next(word) and index + 1 < len(args):
            options.append(args[index + 1])
            index += 1
        index += 1
    return options, list(args[index:])


def _takes_next(word: str) -> bool:
    """Whether option word ``word`` (``-p``, ``-tp``, ``-p2222``) takes the next word as its value."""
    for position, letter in enumerate(word[1:], start=1):
        if letter in _WITH_VALUE:
            return position == len(word) - 1  # -p2222 carries its value; -tp takes the next word
    return False


def resolve_ssh_target(
    text: str, *, aws_profile: str | None, region: str | None, interactive: bool
) -> SshTarget:
    """``[USER@]TARGET`` resolved as every session command resolves TARGET (a known problem is warned of).

    Raises:
        SsmuxError: TARGET is unknown or ambiguous (with no terminal to pick on), or the store unreadable.
    """
    from ssmux.core.store import load_settings
    from ssmux.sessions.resolve_target import resolve_target

    user, name = split_user(text)
    resolved = resolve_target(
        name, aws_profile=aws_profile, region=region, interactive=interactive, settings=load_settings()
    )
    if resolved.problem:
        sys.stderr.write(f"ssmux: warning: {resolved.problem}; trying anyway\n")
    return SshTarget(resolved.instance_id, resolved.aws_profile, resolved.region, user)


def proxy_request(target: SshTarget, port: int, reason: str | None = None) -> SessionRequest:
    """The ``AWS-StartSSHSession`` request that reaches ``port`` on the instance."""
    from ssmux.sessions.backends import SessionRequest

    parameters = {"portNumber": [str(port)]}
    return SessionRequest(target.instance_id, target.aws_profile, target.region, SSH_DOCUMENT, parameters,
                          reason)  # fmt: skip


def run_proxy(
    text: str, port: int, *, aws_profile: str | None, region: str | None, reason: str | None = None
) -> int:
    """``ssmux proxy``: relay stdin and stdout to ``port`` on TARGET until either side ends; the exit status.

    Always the native client: the stream is this process's stdio, which no plugin run could share.
    """
    from ssmux.sessions.runner import Kind, run_native

    target = resolve_ssh_target(text, aws_profile=aws_profile, region=region, interactive=False)
    return run_native(proxy_request(target, port, reason), Kind.FORWARD, quiet=True)


def run_ssh(argv: Sequence[str]) -> int:
    """Run the system ssh (``argv`` from :func:`ssh_argv`) in this terminal; its exit status.

    The keys a user types (Ctrl-C, Ctrl-\\, Ctrl-Z) reach ssh alone while it runs, as with the plugin.
    """
    import subprocess

    from ssmux.sessions import platform

    with platform.current().user_signals():
        try:
            return subprocess.run(list(argv), check=False).returncode
        except OSError as error:
            raise InvalidValue(
                f"cannot run {argv[0]}: {error.strerror}: give a working ssh with --ssh"
            ) from None
