"""One emulator run: moto and our SSM API on one loopback port, the data channel on another.

Start-up order matters for the ready line to mean "ready": seed moto, start the data-channel server in its
own thread and event loop, start the threaded WSGI server, send one request of every service through it so
the first real call is fast, write the AWS config files, and only then print the ready line::

    {"endpoint": "http://127.0.0.1:PORT", "aws_config_file": "...", "aws_shared_credentials_file": "..."}

What start-up costs, and why it is cheap: importing moto and loading its service models (about a second),
then seeding. Seeding makes hundreds of thousands of objects that live as long as the process, and Python's
cyclic garbage collector, triggered by those allocations, would walk every one of them again and again: it
was four fifths of the seeding time of a large scenario. So the collector is paused while seeding and
warming up, and what exists then is frozen (``gc.freeze``): later collections only look at newer objects.
A generated organization's accounts are seeded on first use (:meth:`Fleet.ensure`), and only one profile
per service is warmed up when the scenario has no written profiles.

Stopping (SIGINT/SIGTERM, or the end of stdin with ``exit_on_stdin_eof``) goes the other way: stop taking
API calls, ask the data channel to end every session (it reaps every pty and child), stop its loop, remove a
temporary config folder (and ``remove_on_exit``).

A parent that starts the emulator (``ssmux demo``) may itself be killed outright (SIGKILL) and never stop
it. So such a parent gives it a pipe as stdin and keeps the other end: the end of that pipe is the parent's
death, on every platform, and the emulator then stops as on SIGTERM and removes the parent's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ssmux.emulator.datachannel import CHANNEL_LIFETIME, IDLE_TIMEOUT
from ssmux.emulator.faults import Faults
from ssmux.emulator.scenario import Scenario, ScenarioProfile, load_scenario
from ssmux.errors import InvalidValue

if TYPE_CHECKING:
    from ssmux.emulator.gateway import AccessKey

log = logging.getLogger("ssmux.emulator")

DC_START_TIMEOUT = 15.0
DC_STOP_TIMEOUT = 20.0


@dataclass(frozen=True)
class EmulatorOptions:
    """What ``ssmux emulator`` was asked for."""

    host: str = "127.0.0.1"
    port: int = 0
    scenario: str | Path = "demo"
    aws_config_dir: Path | None = None
    faults: Faults = field(default_factory=Faults)
    allow_remote: bool = False
    #: Drop the agent's pacing (1 s before a shell's first output, 1 KiB reads, 1 ms between reads).
    fast: bool = False
    #: Seconds a data channel lives before the service drops it (AWS: about an hour; the client resumes).
    channel_lifetime: float = CHANNEL_LIFETIME
    #: Seconds without input from the client before a session is terminated (AWS's default: 20 minutes).
    idle_timeout: float = IDLE_TIMEOUT
    #: StartSession hands out presigned StreamUrls (dialled as given, never resumed) instead of expecting a
    #: SigV4-signed upgrade.
    presigned_urls: bool = False
    #: Stop when stdin reaches its end: the parent holding the pipe's other end has exited or died.
    exit_on_stdin_eof: bool = False
    #: A folder to remove once stopped (the parent's temporary folder, which it may not live to remove).
    remove_on_exit: Path | None = None


def check_host(host: str, allow_remote: bool) -> None:
    """Refuse an address other than loopback unless ``allow_remote`` says so explicitly."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise InvalidValue(f"--host {host!r} is not an IP address: use 127.0.0.1 (or ::1)") from None
    if not address.is_loopback and not allow_remote:
        raise InvalidValue(
            f"--host {host} would let other machines reach the emulator and its shells: "
            "add --allow-remote if you really mean it"
        )


class Emulator:
    """Everything of one emulator run. :meth:`start` returns the ready information; :meth:`stop` undoes it."""

    def __init__(self, options: EmulatorOptions) -> None:
        check_host(options.host, options.allow_remote)
        self.options = options
        self.scenario: Scenario = load_scenario(options.scenario)
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._dc: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._temporary_dir: Path | None = None
        self._ecs: Any = None
        self._rdp: Any = None  # the RDP service of the scenario's Windows instances (emulator.windows)

    def start(self) -> dict[str, str]:
        """Bring everything up; returns the ready line's fields."""
        started = time.perf_counter()
        from ssmux.emulator.fleet import Fleet, prepare_moto_environment

        prepare_moto_environment()
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        from ssmux.emulator.api import EmulatorApi
        from ssmux.emulator.ecs_api import EcsApi
        from ssmux.emulator.ecs_fleet import EcsFleet
        from ssmux.emulator.sessions import SessionRegistry
        from ssmux.emulator.ssm_api import SsmApi

        self._bind_http()  # first: a busy port fails before anything else starts
        _cache_moto_module_list()
        with _long_lived_objects():
            fleet = Fleet(self.scenario)
            fleet.seed()
            seeded = time.perf_counter()
            registry = SessionRegistry()
            self._start_data_channel(registry)
            self._ecs = ecs = EcsFleet(self.scenario)  # seeded per pair on its first ECS call
            rdp_port = self._rdp.port if self._rdp is not None else None
            ssm = SsmApi(fleet, registry, self._dc.stream_url, ecs, rdp_port=rdp_port)
            ecs_api = EcsApi(ecs, registry, self._dc.stream_url)
            moto_app = DomainDispatcherApplication(create_backend_app)
            self._serve_http(EmulatorApi(moto_app, self.scenario, ssm, self.options.faults, ecs_api))
            endpoint = f"http://{_url_host(self.options.host)}:{self._server.socket.getsockname()[1]}"
            _warm_up(moto_app, self.scenario)
        config_dir = self.options.aws_config_dir
        if config_dir is None:
            self._temporary_dir = config_dir = Path(tempfile.mkdtemp(prefix="ssmux-emulator-"))
        from ssmux.emulator.awsconfig import write_aws_config

        files = write_aws_config(config_dir, self.scenario, endpoint)
        log.info(
            "ready in %.2f s (seeding %.2f s; %.2f s of CPU since the process began): %d profiles, "
            "%d instances, API %s, data channel port %d",
            time.perf_counter() - started, seeded - started, time.process_time(),
            len(self.scenario.all_profiles), len(self.scenario.instances), endpoint, self._dc.port,
        )  # fmt: skip
        return {
            "endpoint": endpoint,
            "aws_config_file": str(files.config_file),
            "aws_shared_credentials_file": str(files.credentials_file),
        }

    def stop(self) -> None:
        """Stop serving, end every session (no orphan shells), and clean up; safe to call twice."""
        if self._server is not None:
            if self._server_thread is not None:  # shutdown() waits for serve_forever(), so only if it runs
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._server_thread is not None:
            self._server_thread.join(5)
            self._server_thread = None
        if self._loop is not None:
            loop = self._loop
            if self._dc is not None:
                try:
                    asyncio.run_coroutine_threadsafe(self._dc.stop(), loop).result(DC_STOP_TIMEOUT)
                except Exception:
                    log.exception("the data channel did not stop cleanly")
            if self._rdp is not None:
                with contextlib.suppress(Exception):  # its connections end with the loop in any case
                    asyncio.run_coroutine_threadsafe(self._rdp.stop(), loop).result(DC_STOP_TIMEOUT)
                self._rdp = None
            loop.call_soon_threadsafe(loop.stop)
            if self._loop_thread is not None:
                self._loop_thread.join(5)
            if not loop.is_running():
                loop.close()
            self._loop = None
        if self._ecs is not None:  # after the data channel: no container shell runs in its folder now
            self._ecs.close()
            self._ecs = None
        if self._temporary_dir is not None:
            shutil.rmtree(self._temporary_dir, ignore_errors=True)
            self._temporary_dir = None

    def _access_key(self, access_key_id: str) -> AccessKey | None:
        from ssmux.emulator.gateway import AccessKey

        profile = self.scenario.profile_for_key(access_key_id)
        return AccessKey(profile.secret_access_key, profile.account_id) if profile is not None else None

    def _start_data_channel(self, registry: Any) -> None:
        from ssmux.emulator.agents.base import FAST, REALISTIC
        from ssmux.emulator.datachannel import DataChannelServer
        from ssmux.emulator.gateway import Gateway

        self._loop = loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=loop.run_forever, name="data-channel", daemon=True)
        self._loop_thread.start()
        # No faults argument: each session carries its own (the command line merged with its profile's).
        gateway = Gateway(registry, self._access_key, presign=self.options.presigned_urls)
        options = self.options
        self._dc = DataChannelServer(
            registry, host=options.host, gateway=gateway, pacing=FAST if options.fast else REALISTIC,
            channel_lifetime=options.channel_lifetime, idle_timeout=options.idle_timeout,
        )  # fmt: skip
        asyncio.run_coroutine_threadsafe(self._dc.start(), loop).result(DC_START_TIMEOUT)
        if any(instance.platform == "windows" for instance in self.scenario.instances):
            from ssmux.emulator.windows import RdpStandIn

            # No Windows runs here: a Windows instance's RDP port is this stand-in, on a port of its own.
            self._rdp = RdpStandIn(host="127.0.0.1")
            asyncio.run_coroutine_threadsafe(self._rdp.start(), loop).result(DC_START_TIMEOUT)

    def _bind_http(self) -> None:
        import socket

        from werkzeug.serving import make_server

        from ssmux.emulator.httpserver import QuietRequestHandler

        # Bind ourselves: werkzeug prints its own message and exits on a busy port.
        family = socket.AF_INET6 if ":" in self.options.host else socket.AF_INET
        try:
            listener = socket.create_server(
                (self.options.host, self.options.port), family=family, backlog=128
            )
        except OSError as error:
            raise InvalidValue(
                f"cannot listen on {self.options.host} port {self.options.port}: {error.strerror}; "
                "pick another --port, or 0 to let the system choose"
            ) from None
        with listener:  # werkzeug takes a duplicate of the descriptor
            self._server = make_server(
                self.options.host,
                listener.getsockname()[1],
                _not_ready,
                threaded=True,
                request_handler=QuietRequestHandler,
                fd=listener.fileno(),
            )

    def _serve_http(self, app: Any) -> None:
        self._server.app = app
        self._server_thread = threading.Thread(target=self._server.serve_forever, name="api", daemon=True)
        self._server_thread.start()


def _not_ready(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    # Never called: the server only serves once the real application is in place.
    start_response("503 Service Unavailable", [("Content-Length", "0")])
    return []


def run(options: EmulatorOptions, out: IO[str] | None = None) -> int:
    """Run the emulator until SIGINT/SIGTERM: print the ready line on ``out`` (stdout), log to stderr."""
    out = out or sys.stdout
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    if options.exit_on_stdin_eof:
        _stop_at_end_of_stdin(stop)
    emulator = Emulator(options)
    try:
        ready = emulator.start()
        out.write(json.dumps(ready) + "\n")
        out.flush()
        if out is sys.stdout:
            # The ready line is all stdout ever carries: stray prints (moto has some) go to the log, and
            # whoever reads stdout sees it end right after the ready line.
            os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        while not stop.wait(1.0):  # a timeout, so signals are handled promptly on every platform
            pass
        log.info("stopping")
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if options.remove_on_exit is not None:
            shutil.rmtree(options.remove_on_exit, ignore_errors=True)
    return 0


def _stop_at_end_of_stdin(stop: threading.Event) -> None:
    """Set ``stop`` when stdin ends (the parent closed its end of the pipe, or died)."""
    if sys.stdin is None:  # no stdin at all (pythonw): nothing to watch
        return
    fd = sys.stdin.fileno()

    def watch() -> None:
        # os.read, not sys.stdin: a daemon thread blocked inside a buffered reader's lock can abort the
        # interpreter's shutdown.
        with contextlib.suppress(OSError):
            while os.read(fd, 4096):
                pass
        log.info("stdin closed: the parent is gone")
        stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _warm_up(moto_app: Any, scenario: Scenario) -> None:
    """Call every service once, straight into moto: it builds its per-service apps and models lazily.

    Straight into moto, not through our middleware, so a denied, throttled or slow profile warms up too
    (and fast); our own handlers are imported here as well. moto's SSM is left cold on purpose: the SSM
    calls ssmux makes are ours, and moto's first SSM call loads AWS's public parameters (~1 s).
    """
    from werkzeug.test import Client

    from ssmux.emulator import ec2_instances, ssm_api  # noqa: F401 - imported now rather than on a first call

    client = Client(moto_app)
    # Every written profile, so each one's first call is fast; an organization's hidden accounts (hundreds)
    # only through one of them, which is what loads each service: their own first calls cost a few ms.
    for profile in scenario.profiles or scenario.hidden[:1]:
        for region in scenario.regions(profile):
            _post(client, profile, "ec2", region, "Action=DescribeVpcs&Version=2016-11-15")
        _post(client, profile, "sts", profile.region, "Action=GetCallerIdentity&Version=2011-06-15")
        _post(client, profile, "kms", profile.region, "{}", "TrentService.ListAliases")


@contextlib.contextmanager
def _long_lived_objects() -> Iterator[None]:
    """Pause the cyclic garbage collector while the block makes objects that live as long as the process.

    Then freeze everything there is, so no later collection walks it again (see the module docstring).
    """
    gc.collect()  # what is garbage now would be frozen for good: free it first
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _cache_moto_module_list() -> None:
    """Make moto's dispatcher list its own package once instead of on every request.

    ``DomainDispatcherApplication.get_backend_for_host`` calls ``moto.backends.list_of_moto_modules()``, a
    ``listdir`` and one ``stat`` per entry (about 170), for each request it serves: a millisecond each, and
    most of the warm-up's time. The package does not change while the emulator runs.
    """
    from moto import backends

    if getattr(backends, "_ssmux_cached", False):
        return
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    backends._ssmux_cached = True  # type: ignore[attr-defined]


def _post(
    client: Any, profile: ScenarioProfile, service: str, region: str, body: str, target: str = ""
) -> None:
    headers = _headers(profile.access_key_id, region, service, form=not target)
    headers["x-moto-account-id"] = profile.account_id
    if target:
        headers["X-Amz-Target"] = target
    client.post("/", data=body, headers=headers)


def _headers(access_key: str, region: str, service: str, *, form: bool = False) -> dict[str, str]:
    scope = f"{access_key}/20240101/{region}/{service}/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0",
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"
        if form
        else "application/x-amz-json-1.1",
    }
