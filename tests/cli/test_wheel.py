"""The built wheel, installed as `pipx install .` would, is a working `ssmux` with every file of the app.

The wheel is built from this tree and installed with ``--no-deps`` into a new venv that sees no ssmux of
ours: the venv's own site-packages comes first on ``sys.path``, and the dev venv's site-packages (for the
dependencies only: boto3, NiceGUI, moto...) is added after it by a ``.pth`` line, which does not run the
dev venv's own ``.pth`` files, so the editable install's path to ``src/`` never appears. What runs is the
wheel's code and the wheel's files, from a folder outside the repository.
"""

from __future__ import annotations

import http.cookiejar
import importlib.util
import os
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "ssmux"
SCRIPTS = "Scripts" if sys.platform == "win32" else "bin"
EXE = ".exe" if sys.platform == "win32" else ""
READY_BOUND = 90.0  # seconds for the demo's URL to answer on a busy machine; a bound, not a measurement


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of this tree, built as pip builds it for `pipx install .`."""
    out = tmp_path_factory.mktemp("wheel")
    # hatchling comes from the registry in pip's isolated build env unless it is already installed here.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("ssmux-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with the wheel installed (no deps); dependencies resolve from the dev venv, after it."""
    folder = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / SCRIPTS / f"python{EXE}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    (Path(purelib) / "_ssmux_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return folder


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    """Every file under src/ssmux (the app's .js, the emulator's scenarios and documents) is in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    wanted = {
        "ssmux/" + path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert wanted - names == set()
    assert {name for name in wanted if name.endswith((".js", ".json"))}  # the assets are among them


def test_installed_ssmux_runs_its_own_copy(venv: Path, tmp_path: Path) -> None:
    """The venv's `ssmux` imports ssmux and finds its .js and .json files in the venv, not in this tree."""
    python = venv / SCRIPTS / f"python{EXE}"
    where = subprocess.run(
        [str(python), "-c", "import ssmux; print(ssmux.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where
    assets = sorted(
        path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*") if path.suffix in (".js", ".json")
    )
    check = (
        "import sys\nfrom importlib.resources import files\n"
        "missing = [a for a in sys.argv[1:] if not files('ssmux').joinpath(a).is_file()]\n"
        "print(missing)\n"
    )
    found = subprocess.run(
        [str(python), "-c", check, *assets], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert found.stdout.strip() == "[]", found
    version = subprocess.run(
        [str(venv / SCRIPTS / f"ssmux{EXE}"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0 and version.stdout.startswith("ssmux, version ")


@pytest.mark.skipif(sys.platform == "win32", reason="stopped with SIGINT, as Ctrl-C does on POSIX")
def test_installed_demo_serves_the_app_and_stops_on_ctrl_c(venv: Path, tmp_path: Path) -> None:
    """`ssmux demo --no-show` from the wheel (emulator, scenario, app) answers its URL, stops on SIGINT."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SSMUX_"))}
    env["PATH"] = f"{venv / SCRIPTS}{os.pathsep}{env.get('PATH', '')}"
    process = subprocess.Popen(
        [str(venv / SCRIPTS / f"ssmux{EXE}"), "demo", "--no-show"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        status, _ = _first_answer(opener, url)
        assert status == 200
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
    assert process.returncode in (0, 130), err
    assert "Traceback" not in err, err


def _first_answer(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str]:
    """Ask until the server answers (it prints the URL just before it listens), within READY_BOUND."""
    deadline = time.monotonic() + READY_BOUND
    while True:
        try:
            with opener.open(url, timeout=30) as answer:
                return answer.status, answer.read().decode("utf-8", "replace")
        except (ConnectionError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
