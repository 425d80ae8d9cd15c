"""``ssmux cp``'s pieces without AWS: remote scripts run by the local sh, blocks, resume records, and the
real agent's damage to pipe output (which the emulator does not reproduce) repaired by the base64 fallback."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from pathlib import Path

import pytest

from ssmux.sessions.copy import CopyOptions, NoProgress, default_parallel, parse_endpoint
from ssmux.sessions.copy.blocks import Block, BlockReader, blocks_of, stripes
from ssmux.sessions.copy.remote import encode_name
from ssmux.sessions.copy.session import CommandResult
from ssmux.sessions.copy.upload import Replies
from ssmux.sessions.resolve_target import ResolvedTarget


def agent_relay(data: bytes, read: int = 1024) -> bytes:
    """What amazon-ssm-agent sends of a pipe's bytes (``shell.go`` ``processStdoutData``): rune by rune,
    a literal U+FFFD (a ``RuneError`` of size 3) becomes its first byte, and an invalid sequence within the
    last 3 bytes of a read waits for the next read, so at EOF it is lost."""
    out = bytearray()
    pending = b""
    for start in range(0, len(data), read):
        buf = pending + data[start : start + read]
        i = 0
        while i < len(buf):
            size, error = _decode_rune(buf, i)
            if error:
                if len(buf) - i < 4:
                    break
                out.append(buf[i])
            else:
                out += buf[i : i + size]
            i += size
        pending = buf[i:]
    return bytes(out)


def _decode_rune(buf: bytes, i: int) -> tuple[int, bool]:
    """(size, is RuneError) as Go's utf8.DecodeRune: a valid U+FFFD is a RuneError of size 3."""
    for size in (1, 2, 3, 4):
        try:
            text = buf[i : i + size].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return size, text == "\ufffd"
    return 1, True


class LocalAgent:
    """A stand-in for :class:`~ssmux.sessions.copy.session.Remote` that runs the command line with the local
    sh and relays stdout as the real agent does."""

    def __init__(self) -> None:
        self.target = ResolvedTarget("i-0123456789abcdef0", None, None, "box")
        self.lines: list[str] = []

    async def run(self, line: str, on_output: object) -> CommandResult:
        self.lines.append(line)
        done = await asyncio.to_thread(subprocess.run, ["sh", "-c", line], capture_output=True, check=False)
        on_output(agent_relay(done.stdout))  # type: ignore[operator]
        return CommandResult(done.returncode, done.stderr.decode().strip())


def test_agent_relay_damages_what_it_should() -> None:
    """The stand-in loses a literal U+FFFD's last two bytes and an invalid tail, and keeps everything else."""
    assert agent_relay(b"a\xef\xbf\xbdb") == b"a\xefb"
    assert agent_relay(b"abc\xff") == b"abc"
    assert agent_relay("ünï\x00\xff!!!!".encode("latin-1")) == "ünï\x00\xff!!!!".encode("latin-1")


def test_download_survives_the_agents_utf8_handling(tmp_path: Path) -> None:
    """A file with U+FFFD inside and an invalid byte at its end arrives exact: damaged blocks come again
    in base64."""
    from ssmux.sessions.copy.download import download

    source = tmp_path / "remote.bin"
    body = b"x" * 3000 + b"\xef\xbf\xbd" + bytes(range(256)) * 5000 + b"\xff"
    source.write_bytes(body)
    agent = LocalAgent()
    dest = tmp_path / "local.bin"
    options = CopyOptions(parallel=2)
    files, _, _, where = asyncio.run(download(agent, str(source), str(dest), options, NoProgress()))  # type: ignore[arg-type]
    assert (files, where) == (1, str(dest))
    assert hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(body).digest()
    assert any(" 1048576 b " in line for line in agent.lines), "no block was fetched again in base64"
    assert not (tmp_path / "local.bin.part").exists()
    assert not (tmp_path / "local.bin.part.json").exists()


def test_block_reader_spots_a_short_block_and_keeps_in_step() -> None:
    """A block shorter than asked is reported damaged; the next block is still read right."""
    blocks = [Block(0, 0, 4), Block(0, 4, 3)]
    reader = BlockReader(b"#T#", blocks)
    got = reader.feed(b"ab")
    got += reader.feed(b"c#T#xy")
    got += reader.feed(b"z#")
    got += reader.feed(b"T#")
    assert got == [(blocks[0], None), (blocks[1], b"xyz")]
    assert reader.remaining == []


def test_block_reader_decodes_base64_blocks() -> None:
    """In the fallback mode, blocks come base64-encoded with line breaks."""
    reader = BlockReader(b"#T#", [Block(0, 0, 3)], encoded=True)
    assert reader.feed(b"YWJj\n#T#") == [(Block(0, 0, 3), b"abc")]


def test_stripes_share_bytes_evenly_and_keep_order() -> None:
    """Blocks are split into contiguous runs of about equal bytes, never more runs than asked."""
    blocks = blocks_of(0, 10 << 20) + blocks_of(1, 5 << 20)
    runs = stripes(blocks, 3)
    assert [block for run in runs for block in run] == blocks
    assert [sum(b.length for b in run) for run in runs] == [5 << 20] * 3
    assert len(stripes(blocks[:2], 8)) == 2


def test_default_parallel_grows_with_size() -> None:
    """One session below 4 MiB, one more per 4 MiB, at most 8."""
    assert [default_parallel(n << 20) for n in (0, 3, 5, 16, 100)] == [1, 1, 2, 4, 8]


@pytest.mark.parametrize(
    ("text", "target", "path"),
    [
        ("web-1:/tmp/x", "web-1", "/tmp/x"),
        ("./a:b", None, "./a:b"),
        ("/abs:x", None, "/abs:x"),
        ("x", None, "x"),
    ],
)
def test_parse_endpoint(text: str, target: str | None, path: str) -> None:
    """TARGET:PATH is remote; a path with a slash before the colon is local."""
    endpoint = parse_endpoint(text)
    assert (endpoint.target, endpoint.path) == (target, path)


def test_encoded_names_come_back_exactly_from_printf() -> None:
    """The receiver's printf turns an encoded name back into the very bytes, whatever they are."""
    name = "-x sub dir/ünï %s *?[a] $(x) `y`\\n\n"
    out = subprocess.run(
        ["sh", "-c", 'printf "$1"x', "sh", encode_name(name)], capture_output=True, check=True
    )
    assert out.stdout == name.encode() + b"x"


def test_replies_are_read_out_of_pty_noise() -> None:
    """Token-marked lines become answers, whatever comes around them and however it is cut."""
    replies = Replies("tok")
    for piece in (b"sh: warn\r\ntok RE", b"ADY\r\nnoise tok HAVE 0 -\n"):
        replies.feed(piece)
    assert replies.lines.get_nowait() == ["READY"]
    assert replies.lines.get_nowait() == ["HAVE", "0", "-"]
    assert b"sh: warn" in replies.noise


def test_a_leading_tilde_is_the_home_of_the_sessions_user(tmp_path: Path) -> None:
    """~/NAME is read from $HOME on the target (a session starts in the agent's folder, not the home)."""
    from ssmux.sessions.copy.remote import LIST_SCRIPT

    (tmp_path / "in home.txt").write_bytes(b"abc")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        ["sh", "-c", LIST_SCRIPT, "sh", "~/in home.txt"], capture_output=True, env=env, check=True
    )
    kind, meta, digest, relative = done.stdout.split(b"\0")[:4]
    assert (kind, meta.split()[1], relative) == (b"F", b"3", b"")
    assert digest.decode() == hashlib.sha256(b"abc").hexdigest()
