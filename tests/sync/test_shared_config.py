"""Sessions of one AwsClients share the parsed AWS config files, and still see the files as they are now."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ssmux.core.aws import AwsClients
from ssmux.errors import AwsError


def write(path: Path, text: str) -> None:
    path.write_text(text)
    # A later edit within the file system's timestamp resolution must still count as another version.
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def test_profiles_added_to_the_files_later_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A profile added to the AWS files after the first session was made resolves with its own keys."""
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    write(config, "[profile a]\nregion = eu-west-1\n")
    write(credentials, "[a]\naws_access_key_id = AKIAAAAAAAAAAAAAAAAA\naws_secret_access_key = a\n")
    clients = AwsClients()
    assert clients.credentials("a").access_key == "AKIAAAAAAAAAAAAAAAAA"
    with pytest.raises(AwsError, match="unknown AWS CLI profile 'b'"):
        clients.botocore_session("b")
    write(config, "[profile a]\nregion = eu-west-1\n\n[profile b]\nregion = us-east-1\n")
    write(
        credentials,
        credentials.read_text()
        + "[b]\naws_access_key_id = AKIABBBBBBBBBBBBBBBB\naws_secret_access_key = b\n",
    )
    assert clients.credentials("b").access_key == "AKIABBBBBBBBBBBBBBBB"
    assert clients.region_of("b") == "us-east-1"
    assert clients.credentials("a").access_key == "AKIAAAAAAAAAAAAAAAAA"


def test_many_profiles_resolve_each_to_its_own_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 300 profiles in the files, each session still resolves its own profile's keys and settings."""
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("HOME", str(tmp_path))
    write(config, "".join(f"[profile p{n}]\nregion = r-{n}\n\n" for n in range(300)))
    write(
        credentials,
        "".join(
            f"[p{n}]\naws_access_key_id = AKIA{n:016d}\naws_secret_access_key = s{n}\n\n" for n in range(300)
        ),
    )
    clients = AwsClients()
    assert [clients.credentials(f"p{n}").access_key for n in range(300)] == [
        f"AKIA{n:016d}" for n in range(300)
    ]
    assert [clients.region_of(f"p{n}") for n in (0, 150, 299)] == ["r-0", "r-150", "r-299"]
