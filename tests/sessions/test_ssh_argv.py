"""The system ssh's argv and ProxyCommand line, and the Host entries of ssh-config (no network)."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from ssmux.errors import InvalidValue
from ssmux.sessions.ssh import SshTarget, proxy_argv, proxy_command, split_ssh_args, split_user, ssh_argv
from ssmux.sessions.ssh_config import host_entries
from ssmux.sync.targets import Source, Target

TARGET = SshTarget("i-0123456789abcdef0", "dev; rm -rf ~", "eu-west-1", "ec2-user")


def test_proxy_command_survives_the_shell_and_ssh_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python path with a space and a %, a profile with shell characters: the shell gets the argv back."""
    monkeypatch.setattr(sys, "executable", "/opt/my tools/100%/python")
    line = proxy_command(TARGET, platform="linux")
    assert line.endswith(" %p")
    expanded = line.replace("%p", "2222").replace("%%", "%")  # what ssh does to the tokens
    out = subprocess.run(["sh", "-c", f"printf '%s\\n' {expanded}"], capture_output=True, check=True)
    assert out.stdout.decode().splitlines() == proxy_argv(TARGET, port="2222")
    assert shlex.split(expanded)[3:] == ["proxy", "i-0123456789abcdef0", "--aws-profile", "dev; rm -rf ~",
                                         "--region", "eu-west-1", "2222"]  # fmt: skip


def test_proxy_command_on_windows_is_a_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows' OpenSSH starts the line with CreateProcess: quoted as a Windows command line."""
    monkeypatch.setattr(sys, "executable", "C:\\Program Files\\Python\\python.exe")
    line = proxy_command(SshTarget("i-0123456789abcdef0", None, None), platform="win32")
    assert line == '"C:\\Program Files\\Python\\python.exe" -m ssmux proxy i-0123456789abcdef0 %p'


def test_ssh_argv_puts_options_before_the_host_and_the_command_after() -> None:
    """ssh's options (with their values) go before the host; the remote command stays last, as typed."""
    argv = ssh_argv("/usr/bin/ssh", TARGET, ["-p", "2222", "-tv", "-L8080:localhost:80", "ls", "-la", "/"])
    assert argv[:3] == ["/usr/bin/ssh", "-o", f"ProxyCommand={proxy_command(TARGET)}"]
    assert argv[3:] == ["-o", "HostKeyAlias=i-0123456789abcdef0", "-l", "ec2-user", "-p", "2222", "-tv",
                        "-L8080:localhost:80", "i-0123456789abcdef0", "ls", "-la", "/"]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "options", "command"),
    [
        (["-tp", "22", "uptime"], ["-tp", "22"], ["uptime"]),
        (["-p2222", "uptime"], ["-p2222"], ["uptime"]),
        (["--", "-weird"], [], ["-weird"]),
        (["uptime", "-p", "1"], [], ["uptime", "-p", "1"]),
        ([], [], []),
    ],
)
def test_split_ssh_args(args: list[str], options: list[str], command: list[str]) -> None:
    """getopt's rules: a value-taking letter takes the rest of its word or the next word."""
    assert split_ssh_args(args) == (options, command)


def test_user_at_target() -> None:
    """USER@TARGET splits at the last @; an empty side is refused."""
    assert split_user("ec2-user@web-1") == ("ec2-user", "web-1")
    assert split_user("web-1") == (None, "web-1")
    with pytest.raises(InvalidValue, match="is not USER@TARGET"):
        split_user("@web-1")


def synced(name: str | None, instance_id: str, platform: str = "linux", profile: str = "dev") -> Target:
    return Target(name=name or instance_id, instance_id=instance_id, aws_profile=profile, region="eu-west-1",
                  group=None, source=Source.SYNCED, platform=platform, name_tag=name)  # fmt: skip


def test_host_entries_leave_out_shared_names_and_windows() -> None:
    """Two instances named alike keep their ids only (and the name is reported); Windows gets no entry."""
    found = host_entries([
        synced("web", "i-00000000000000001"), synced("web", "i-00000000000000002"),
        synced("DB Primary", "i-00000000000000003"), synced("dc", "i-00000000000000004", platform="windows"),
        synced("db-primary-copy", "i-00000000000000003", profile="other"),
    ])  # fmt: skip
    assert [entry.names for entry in found.entries] == [
        ("i-00000000000000001",), ("i-00000000000000002",), ("db-primary", "i-00000000000000003"),
    ]  # fmt: skip
    assert found.ambiguous == ("web",)
    assert found.entries[2].target.aws_profile == "dev"
