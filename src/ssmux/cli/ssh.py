"""``ssmux ssh``, ``ssmux proxy`` and ``ssmux ssh-config``: the system ssh over Session Manager.

``proxy`` is the ProxyCommand (an ``AWS-StartSSHSession`` session on stdin and stdout); ``ssh`` runs the
system ``ssh`` with it; ``ssh-config`` writes Host entries so that plain ``ssh``, ``scp``, ``rsync`` and VS
Code Remote-SSH use it by name. See :mod:`ssmux.sessions.ssh`.
"""

from __future__ import annotations

from pathlib import Path

import click

from ssmux.cli.connect import _checked


def profile_and_region(function: click.decorators.FC) -> click.decorators.FC:
    """``--aws-profile`` and ``--region``, checked as every session command checks them."""
    from ssmux.core.validation import validate_aws_profile_name, validate_region

    function = click.option(
        "--region", metavar="R", callback=_checked(validate_region), help="AWS region (default: resolved)."
    )(function)
    return click.option(
        "--aws-profile",
        "aws_profile",
        metavar="P",
        callback=_checked(validate_aws_profile_name),
        help="AWS CLI profile (default: resolved).",
    )(function)


@click.command("proxy")
@click.argument("target")
@click.argument("port", type=click.IntRange(1, 65535))
@profile_and_region
@click.option("--reason", metavar="R", help="Reason recorded with the session.")
def proxy(target: str, port: int, aws_profile: str | None, region: str | None, reason: str | None) -> None:
    """Relay stdin and stdout to PORT on TARGET (an AWS-StartSSHSession session): ssh's ProxyCommand.

    \b
    In ~/.ssh/config (or let 'ssmux ssh-config --write' do it):
      Host web-1
          ProxyCommand ssmux proxy web-1 %p
    """
    from ssmux.sessions.ssh import run_proxy

    raise SystemExit(run_proxy(target, port, aws_profile=aws_profile, region=region, reason=reason))


@click.command("ssh", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@profile_and_region
@click.option("--ssh", "ssh_path", metavar="PATH", help="The ssh client to run (default: ssh on PATH).")
@click.option(
    "--push-key",
    is_flag=True,
    help="Send your public key with EC2 Instance Connect first (valid 60 s); needs USER@TARGET.",
)
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="The key --push-key sends (default: ~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub); implies it.",
)
@click.argument("target")
@click.argument("ssh_args", nargs=-1, type=click.UNPROCESSED)
def ssh(
    aws_profile: str | None,
    region: str | None,
    ssh_path: str | None,
    push_key: bool,
    public_key: Path | None,
    target: str,
    ssh_args: tuple[str, ...],
) -> None:
    """Run the system ssh to [USER@]TARGET through Session Manager (no open port, no bastion).

    SSH_ARGS are ssh's own, options then the remote command: ssmux ssh ec2-user@web-1 -L 8080:localhost:80,
    ssmux ssh web-1 uptime. ssmux's options come before TARGET. The host key is remembered under the
    instance id. Exit status: ssh's.
    """
    from ssmux.errors import InvalidValue
    from ssmux.sessions.ssh import find_ssh, resolve_ssh_target, run_ssh, ssh_argv
    from ssmux.sessions.ssh_keys import find_public_key
    from ssmux.sessions.ssh_keys import push_key as send_key

    executable = find_ssh(ssh_path)
    resolved = resolve_ssh_target(target, aws_profile=aws_profile, region=region, interactive=on_terminal())
    identity = None
    if push_key or public_key is not None:
        if resolved.user is None:
            raise InvalidValue(
                "--push-key needs the OS user the key is for: ssmux ssh --push-key ec2-user@TARGET"
            )
        key = find_public_key(public_key)
        send_key(resolved.instance_id, resolved.user, key, aws_profile=resolved.aws_profile,
                 region=resolved.region)  # fmt: skip
        identity = key.private
    raise SystemExit(run_ssh(ssh_argv(executable, resolved, ssh_args, identity=identity)))


@click.command("ssh-config")
@click.option("--write", is_flag=True, help="Write the entries into a marked block of the file.")
@click.option(
    "--file",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    help="The ssh config file --write keeps the block in (default: ~/.ssh/config).",
)
def ssh_config(write: bool, config_file: Path | None) -> None:
    """Print ssh Host entries for every saved and synced target (or --write them into ~/.ssh/config).

    Then ssh, scp, rsync and VS Code Remote-SSH reach targets by name: ssh web-1, scp f web-1:/tmp/.
    --write replaces only the block between ssmux's marker lines; every other line stays as it was.
    """
    import sys

    from ssmux.sessions.ssh_config import default_config_file, host_entries, write_block
    from ssmux.sync.targets import load_targets

    found = host_entries(load_targets())
    for name in found.ambiguous:
        sys.stderr.write(f"ssmux: note: '{name}' names more than one instance: reach them by instance id\n")
    if not write:
        sys.stdout.write(found.block())
        return
    path = config_file or default_config_file()
    write_block(path, found.block())
    count = len(found.entries)
    sys.stderr.write(f"wrote {count} host{'s' if count != 1 else ''} to {path}\n")


def on_terminal() -> bool:
    """Whether stdin and stdout are a terminal (the picker may ask which target is meant)."""
    import os

    try:
        return os.isatty(0) and os.isatty(1)
    except OSError:
        return False
