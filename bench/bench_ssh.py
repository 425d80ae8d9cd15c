"""ssh through ``ssmux ssh`` (the system ssh, ``ssmux proxy`` as its ProxyCommand) against the emulator.

Run: ``python -m bench ssh``. Prints figures; asserts nothing. Needs OpenSSH's ``ssh`` and asyncssh (the
target's sshd, as in the tests).

* **first byte**: ``ssmux ssh web-1 true`` from start to exit (target resolution, StartSession, the data
  channel, the ssh handshake, the command); median of 5.
* **download**: ``head -c N /dev/zero`` on the target, its stdout counted here: MB/s, and the CPU seconds of
  every local process (ssmux ssh, ssh, ssmux proxy) meanwhile. In the realistic emulator the agent reads
  1 KiB then sleeps 1 ms (about 1 MB/s a session); the issue reports 0.6-0.8 MB/s for scp over AWS's plugin
  on real AWS, so the ratios printed are to the agent's bound and to 0.7 MB/s.
* **upload**: N bytes on stdin into ``cat > /dev/null`` on the target (the agent does not pace what it
  receives).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENT_BOUND = 1024 / 0.001
PLUGIN_SCP = 0.7e6  # bytes/s: what issue 14 reports for scp over the plugin on real AWS
REALISTIC_BYTES = 8_000_000
FAST_BYTES = 40_000_000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], env: dict[str, str], data: bytes = b"") -> tuple[float, float, bytes]:
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(argv, input=data, capture_output=True, env=env, timeout=600, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed ({done.returncode}): {done.stderr[-500:]!r}")
    return wall, _children_cpu() - cpu, done.stdout


def run_mode(mode: str, folder: Path, base_env: dict[str, str]) -> None:
    from tests.sessions.sshd import make_key, run_sshd
    from tests.support.emulator import start_emulator

    from ssmux.emulator.scenario import load_scenario

    realistic = mode == "realistic"
    size = REALISTIC_BYTES if realistic else FAST_BYTES
    web1 = next(item.instance_id for item in load_scenario("demo").instances if item.name == "web-1")
    folder.mkdir()
    public = make_key(folder / "id_ed25519")
    args = () if realistic else ("--fast",)
    with start_emulator("demo", *args, tmp_dir=folder / "emulator") as emulator, run_sshd((public,)) as sshd:
        env = {**base_env, **emulator.env(), "SSMUX_HOME": str(folder / "home")}
        (folder / "known_hosts").write_text(f"{web1} {sshd.host_key}\n")
        (folder / "ssh_config").write_text("")
        ssh = [sys.executable, "-m", "ssmux", "ssh", "--aws-profile", "dev", f"bench@{web1}",
               "-F", str(folder / "ssh_config"), "-p", str(sshd.port), "-i", str(folder / "id_ed25519"),
               "-o", f"UserKnownHostsFile={folder / 'known_hosts'}", "-o", "BatchMode=yes"]  # fmt: skip
        print(f"\n== {mode} emulator")
        _run([*ssh, "true"], env)  # warm-up: bytecode
        walls = [_run([*ssh, "true"], env)[0] for _ in range(5)]
        print(f"ssmux ssh web-1 true: median {statistics.median(walls):.2f} s (min {min(walls):.2f}, "
              f"max {max(walls):.2f})")  # fmt: skip
        wall, cpu, out = _run([*ssh, f"head -c {size} /dev/zero"], env)
        assert len(out) == size, len(out)
        rate = size / wall
        line = (
            f"download {size / 1e6:.0f} MB: {wall:.2f} s wall, {cpu:.2f} s CPU (local), {rate / 1e6:.2f} MB/s"
        )
        if realistic:
            line += (
                f"; {rate / AGENT_BOUND:.2f}x the agent's bound, {rate / PLUGIN_SCP:.2f}x scp over the plugin"
            )
        print(line)
        wall, cpu, _ = _run([*ssh, "cat > /dev/null"], env, data=b"\0" * size)
        rate = size / wall
        print(
            f"upload {size / 1e6:.0f} MB: {wall:.2f} s wall, {cpu:.2f} s CPU (local), {rate / 1e6:.2f} MB/s"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ssmux-bench-ssh-") as name:
        folder = Path(name)
        base_env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        base_env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        print(f"{sys.platform}, {os.cpu_count()} CPUs")
        for mode in ("realistic", "fast"):
            run_mode(mode, folder / mode, base_env)


if __name__ == "__main__":
    main()
