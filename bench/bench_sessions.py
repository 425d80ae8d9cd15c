"""Sessions against the emulator: time to first prompt, keystroke echo, ``cat`` throughput; native and shim.

Run: ``python -m bench sessions`` (``make bench`` runs every benchmark). Prints figures; asserts nothing.

Every figure is taken twice: against the emulator in its **realistic** mode (the default: the agent waits
1 s after starting the shell before it reads output, then reads 1 KiB at a time with 1 ms sleeps, so one
session carries about 1 MB/s, as on AWS) and in ``--fast`` mode (no pacing), which shows what ssmux itself
costs. In realistic mode the first prompt is also given as the time above the agent's 1 s floor, and the
throughput as a ratio to the agent's ~1 MB/s bound and, when ``session-manager-plugin`` is installed, to
AWS's plugin through ``aws ssm start-session``.

* **first prompt**: from starting ``ssmux connect`` (a new process on a pty) to the first byte of the remote
  shell's prompt; median and spread of 20 runs. The same for ``aws ssm start-session`` with ssmux's drop-in
  installed as ``session-manager-plugin`` (skipped when no ``aws`` CLI is installed).
* **keystroke echo**: one byte typed, until its echo comes back through the session; p50 / p99 of 300.
* **throughput**: ``cat`` of a 50 MB text file through one interactive session (pipe mode, output counted);
  MB/s of the file, and the CPU seconds the client and the emulator spent meanwhile, which shows what bounds
  it (the side whose CPU time is closest to the wall time).
* **client capacity**: the same 50 MB sent by a minimal server (a process running only the protocol's agent
  state machine over a websocket, with a window of 1024 unacked messages) to the native client run as the
  drop-in plugin: what the client alone can carry, without the emulator's pty and pacing.
"""

from __future__ import annotations

import base64
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 20
ECHOES = 300
FILE_MB = 50
#: The file size in realistic mode: at the agent's ~1 MB/s, 10 MB is 10 s a run.
REALISTIC_FILE_MB = 10
#: The realistic agent's floor: it reads a new shell's output only after 1 s (agent shell.go).
AGENT_FLOOR = 1.0
#: The realistic agent's throughput bound: 1 KiB read, then 1 ms of sleep (bytes per second).
AGENT_BOUND = 1024 / 0.001
PROMPT = b":~$ "
TIMEOUT = 60.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _read_until(process: Any, marker: bytes, timeout: float = TIMEOUT) -> bytes:
    """Read the pty until ``marker`` shows up; returns everything read."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {marker!r} after {timeout} s; got {seen[-300:]!r}")
        ready, _, _ = select.select([process.fd], [], [], left)
        if ready:
            try:
                seen += os.read(process.fd, 65536)
            except OSError:
                raise TimeoutError(f"session ended before {marker!r}; got {seen[-300:]!r}") from None
    return seen


def _spawn(argv: list[str], env: dict[str, str]) -> Any:
    from ptyprocess import PtyProcess

    return PtyProcess.spawn(argv, env=env, dimensions=(24, 80))


def _finish(process: Any) -> None:
    try:
        process.write(b"exit\r")
        deadline = time.monotonic() + 20
        while process.isalive() and time.monotonic() < deadline:
            ready, _, _ = select.select([process.fd], [], [], 0.2)
            if ready:
                try:
                    os.read(process.fd, 65536)
                except OSError:
                    break
    finally:
        process.terminate(force=True)


def first_prompt(argv: list[str], env: dict[str, str], runs: int = RUNS) -> list[float]:
    """Seconds from spawning ``argv`` to the first byte of the remote prompt, ``runs`` times."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process = _spawn(argv, env)
        try:
            _read_until(process, PROMPT)
            times.append(time.perf_counter() - started)
        finally:
            _finish(process)
    return times


def echo_round_trips(argv: list[str], env: dict[str, str], count: int = ECHOES) -> list[float]:
    """Seconds from writing one key to reading its echo, ``count`` keys typed one at a time."""
    process = _spawn(argv, env)
    times = []
    try:
        _read_until(process, PROMPT)
        for index in range(count):
            key = b"abcdefghij"[index % 10 : index % 10 + 1]
            started = time.perf_counter()
            process.write(key)
            _read_until(process, key, 10)
            times.append(time.perf_counter() - started)
        process.write(b"\x15")  # Ctrl-U: clear the typed line
    finally:
        _finish(process)
    return times


def throughput(argv: list[str], env: dict[str, str], path: Path, emulator_pid: int) -> dict[str, float]:
    """``cat`` the file through a session in pipe mode; wall time, bytes out, CPU of client and emulator."""
    emulator_before = _cpu_seconds(emulator_pid)
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(f"cat {path}; exit\n".encode())
    process.stdin.close()
    received = 0
    while chunk := process.stdout.read(1 << 20):
        received += len(chunk)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall": wall,
        "bytes": received,
        "client_cpu": usage.ru_utime + usage.ru_stime,
        "emulator_cpu": _cpu_seconds(emulator_pid) - emulator_before,
    }


def _blast_server(port_out: Any, total: int, window: int) -> None:
    """Serve one session that sends ``total`` bytes of output as fast as the client acks (own process)."""
    import asyncio

    from websockets.asyncio.server import serve

    from ssmux.protocol.agent import AgentSession

    async def handler(ws: Any) -> None:
        await ws.recv()  # the token message
        loop = asyncio.get_running_loop()
        agent = AgentSession("bench-session", "i-0123456789abcdef0", "Standard_Stream", None, "3.3.987.0",
                             handshake=False, now=loop.time())  # fmt: skip
        chunk = (b"0123456789abcdef" * 63 + b"0123456789abcd\r\n") * 64  # 64 messages of 1024 bytes
        sent = 0
        acked = asyncio.Event()

        async def read_acks() -> None:
            async for frame in ws:
                agent.receive(frame, loop.time())
                acked.set()

        reader = loop.create_task(read_acks())
        while sent < total or not agent.channel.all_acked:
            if sent < total and agent.channel.unacked_count < window:
                agent.send_output(chunk, loop.time())
                sent += len(chunk)
            else:
                acked.clear()
                await acked.wait()
            for frame in agent.data_to_send():
                await ws.send(frame)
        await ws.send(agent.close_message())
        await asyncio.sleep(0.5)
        reader.cancel()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
            port_out.put(next(iter(server.sockets)).getsockname()[1])
            await asyncio.sleep(300)

    asyncio.run(main())


def client_capacity(env: dict[str, str], total: int = FILE_MB * 1_000_000) -> dict[str, float]:
    """The native client (as the drop-in plugin) taking ``total`` bytes from the minimal server."""
    import json
    import multiprocessing

    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_blast_server, args=(ports, total, 1024), daemon=True)
    server.start()
    try:
        port = ports.get(timeout=30)
        url = f"ws://127.0.0.1:{port}/"
        response = {"SessionId": "bench-session", "TokenValue": "t", "StreamUrl": url}
        request = json.dumps({"Target": "i-0123456789abcdef0"})
        argv = [sys.executable, "-m", "ssmux", "session-manager-plugin", json.dumps(response), "us-east-1",
                "StartSession", "", request, "http://127.0.0.1:9"]  # fmt: skip
        server_before = _cpu_seconds(server.pid)  # type: ignore[arg-type]
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, env=env)  # fmt: skip
        assert process.stdout is not None
        received = 0
        while chunk := process.stdout.read(1 << 20):
            received += len(chunk)
        _, _, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        return {
            "wall": wall,
            "bytes": received,
            "client_cpu": usage.ru_utime + usage.ru_stime,
            "server_cpu": _cpu_seconds(server.pid) - server_before,  # type: ignore[arg-type]
        }
    finally:
        server.terminate()
        server.join(10)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _report_times(label: str, values: list[float], floor: float = 0.0) -> None:
    above = f", {(statistics.median(values) - floor) * 1000:.0f} ms above the agent's {floor:.0f} s floor"
    print(
        f"{label}: median {statistics.median(values) * 1000:.0f} ms, min {min(values) * 1000:.0f} ms, "
        f"max {max(values) * 1000:.0f} ms (n={len(values)}){above if floor else ''}"
    )


def _report_echo(label: str, values: list[float]) -> None:
    p50, p99 = _percentile(values, 0.5) * 1000, _percentile(values, 0.99) * 1000
    print(f"{label}: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(values) * 1000:.2f} ms (n={len(values)})")


def _bound(cpu: dict[str, float], wall: float) -> str:
    """Which side bounds a transfer: the one whose CPU time is near the wall time, if any."""
    side, seconds = max(cpu.items(), key=lambda item: item[1])
    if seconds / wall >= 0.85:
        return f"bound by the {side}'s CPU"
    return "no side's CPU is saturated: bound by waiting (round trips, pacing)"


def _report_throughput(
    label: str, result: dict[str, float], size: int, other: str = "emulator", bound: float | None = None
) -> float:
    """Print one transfer's figures; returns its rate in bytes per second."""
    wall, client, peer = result["wall"], result["client_cpu"], result[f"{other}_cpu"]
    ratio = f"; {size / wall / bound:.2f}x the agent's {bound / 1e6:.2f} MB/s bound" if bound else ""
    print(
        f"{label}: {size / 1e6 / wall:.2f} MB/s ({size / 1e6:.0f} MB, {result['bytes'] / 1e6:.1f} MB out, "
        f"{wall:.1f} s){ratio}; CPU client {client:.1f} s ({client / wall:.0%} of wall), "
        f"{other} {peer:.1f} s ({peer / wall:.0%}); {_bound({'client': client, other: peer}, wall)}"
    )
    return size / wall


def _write_data(path: Path, megabytes: int) -> int:
    """A text file (base64 lines, as a terminal shows them) of about ``megabytes`` MB; its size."""
    block = base64.encodebytes(os.urandom(3 * (1 << 20) // 4))
    with path.open("wb") as out:
        while out.tell() < megabytes * 1_000_000:
            out.write(block)
    return path.stat().st_size


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ssmux-bench-") as folder_name:
        folder = Path(folder_name)
        # Child processes keep their bytecode, as an installed ssmux does: with PYTHONDONTWRITEBYTECODE
        # (set in some dev shells) every start would compile all of ssmux again, ~150 ms of the first prompt.
        base_env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        base_env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        # First, with nothing else running: what the client alone carries (median of 3 runs). The minimal
        # server does not check the signed dial; any keys sign it.
        capacity_env = {**base_env, "AWS_ACCESS_KEY_ID": "AKIABENCH0000000000", "AWS_SECRET_ACCESS_KEY": "b"}
        runs = sorted((client_capacity(dict(capacity_env)) for _ in range(3)), key=lambda run: run["wall"])
        label = "native client capacity (minimal server, no emulator), median of 3"
        _report_throughput(label, runs[1], FILE_MB * 1_000_000, other="server")
        print(f"{sys.platform}, {os.cpu_count()} CPUs; bytecode cached")
        for mode in ("realistic", "fast"):
            run_mode(mode, folder / mode, base_env)


def run_mode(mode: str, folder: Path, base_env: dict[str, str]) -> None:
    """Every figure against the emulator in ``mode`` (``realistic``: AWS's pacing; ``fast``: none)."""
    from tests.support.emulator import start_emulator

    from ssmux.emulator.scenario import load_scenario
    from ssmux.sessions.shim import install_shim

    realistic = mode == "realistic"
    floor, bound = (AGENT_FLOOR, AGENT_BOUND) if realistic else (0.0, None)
    web1 = next(item.instance_id for item in load_scenario("demo").instances if item.name == "web-1")
    folder.mkdir()
    data = folder / "data.txt"
    size = _write_data(data, REALISTIC_FILE_MB if realistic else FILE_MB)
    args = () if realistic else ("--fast",)
    with start_emulator("demo", *args, tmp_dir=folder / "emulator") as emulator:
        env = {**base_env, **emulator.env(), "SSMUX_HOME": str(folder / "home"), "TERM": "xterm"}
        native = [sys.executable, "-m", "ssmux", "connect", web1, "--aws-profile", "dev", "--backend",
                  "native"]  # fmt: skip
        print(f"\n== {mode} emulator ({emulator.endpoint})")
        first_prompt(native, env, runs=1)  # warm-up: writes the bytecode, as an install would have it
        _report_times("ssmux connect -> first prompt byte", first_prompt(native, env), floor)
        _report_echo("ssmux connect keystroke echo", echo_round_trips(native, env))
        ours = _report_throughput(
            "ssmux connect cat", throughput(native, env, data, emulator.process.pid), size, bound=bound
        )
        if shutil.which("aws") is None:
            print("aws ssm start-session: skipped (no aws CLI on PATH)")
            return
        aws = ["aws", "ssm", "start-session", "--target", web1, "--profile", "dev"]
        official = shutil.which("session-manager-plugin", path=env.get("PATH"))
        if realistic and official:
            theirs = _report_throughput(
                "aws ssm start-session + AWS's session-manager-plugin cat",
                throughput(aws, env, data, emulator.process.pid), size, bound=bound,
            )  # fmt: skip
            print(f"ssmux native / AWS's plugin throughput: {ours / theirs:.2f}x")
        elif realistic:
            print("AWS's session-manager-plugin: not installed here, so no ratio to it")
        install_shim(folder / "shim")
        shim_env = {**env, "PATH": str(folder / "shim") + os.pathsep + env.get("PATH", "")}
        _report_times("aws ssm start-session + shim -> first prompt byte", first_prompt(aws, shim_env), floor)
        _report_echo("aws ssm start-session + shim keystroke echo", echo_round_trips(aws, shim_env))
        _report_throughput(
            "aws ssm start-session + shim cat",
            throughput(aws, shim_env, data, emulator.process.pid),
            size,
            bound=bound,
        )


if __name__ == "__main__":
    main()
