"""The one place ssmux builds botocore sessions and clients, and turns AWS failures into one-line errors.

Why botocore sessions per AWS CLI profile: credentials then resolve exactly as the ``aws`` CLI resolves them
(static keys, SSO with ``sso_session``, ``role_arn`` + ``source_profile`` / ``credential_source``,
``credential_process``, ``aws login``), and ``endpoint_url`` / ``services`` sections of the AWS config file
are honoured by botocore itself, which is how the emulator is reached. ``None`` as the profile means the
SDK's default chain (``AWS_PROFILE``, environment keys, the ``default`` profile, ...).

The caches are objects the caller holds, not module state: an :class:`AwsClients` (made once per CLI
command, once per app, once per test) caches sessions per profile, so assume-role and SSO credentials are
fetched once and refreshed by botocore, and clients per (service, profile, region, options); botocore clients
are thread-safe, sessions are not, so client creation takes the profile's lock. Its sessions share the data
loader of a :class:`ServiceModels`: loading the service models is the slow part of a first client (~200 ms),
and the models are the same for everyone, so several holders (the app's doctor, the tests) can share one.

Everything that can fail goes through :func:`translate`, which turns a botocore exception into an
:class:`~ssmux.errors.AwsError` whose message names the profile (and region) and says what to do::

    AWS profile 'prod': SSO token expired or missing: run ssmux sso login (or aws sso login --profile prod)

boto3/botocore are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from ssmux.errors import AwsError, ErrorCode, SsmuxError

if TYPE_CHECKING:
    import botocore.session

RetryMode = Literal["standard", "adaptive"]

#: Seconds to wait for a TCP connection; a VPN that is down should fail fast, not hang a sync.
DEFAULT_CONNECT_TIMEOUT = 5.0
#: Seconds to wait for a response; a 1000-instance DescribeInstances page takes well under this.
DEFAULT_READ_TIMEOUT = 30.0
#: Attempts per call in botocore's ``standard`` retry mode, unless the profile sets ``max_attempts``.
STANDARD_MAX_ATTEMPTS = 3

# Error codes, grouped by what the user should do about them.
_ACCESS_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "Forbidden",
    }
)
_THROTTLED = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
_EXPIRED = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"})
_REJECTED = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "AuthFailure",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)


class ServiceModels:
    """The botocore data loader every session of its holder shares, and which service models it has loaded.

    Loading the service models is the slow part of a first client (~200 ms for EC2), and the models are the
    same for every profile and region: one object serves any number of :class:`AwsClients` (the app keeps
    one; the test suite keeps one per run). Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loader: Any = None
        self._loaded: set[str] = set()
        self._first_locks: dict[str, threading.Lock] = {}

    @property
    def loader(self) -> Any:
        """The shared ``botocore.loaders.Loader`` (made on first use)."""
        with self._lock:
            if self._loader is None:
                from botocore.loaders import create_loader

                self._loader = create_loader()
                _skip_service_scan(self._loader)
            return self._loader

    def first_lock(self, service: str) -> threading.Lock | None:
        """The lock the first client of ``service`` is created under, ``None`` once its model is loaded."""
        if service in self._loaded:
            return None
        with self._lock:
            return self._first_locks.setdefault(service, threading.Lock())

    def is_loaded(self, service: str) -> bool:
        """Whether a client of ``service`` was created (its model is in the loader)."""
        return service in self._loaded

    def mark_loaded(self, service: str) -> None:
        """Note that ``service``'s model is in the loader."""
        self._loaded.add(service)


def _skip_service_scan(loader: Any) -> None:
    """Load a known service's model without botocore's scan of every service directory.

    ``Loader.load_service_model`` lists all ~400 service folders (two ``listdir`` per folder) only to check
    the name, once per model type: ~20-40 ms of a first client, which ``ssmux connect`` waits for. A service
    with a model is loaded straight from its newest version; an unknown one takes botocore's own path, so
    its error still lists the known names.
    """
    from botocore.exceptions import DataNotFoundError

    scan = loader.load_service_model

    def load_service_model(service_name: str, type_name: str, api_version: str | None = None) -> Any:
        key = (service_name, type_name, api_version)
        if key in loaded:
            return loaded[key]
        try:
            version = api_version or loader.determine_latest_version(service_name, type_name)
        except DataNotFoundError:
            return scan(service_name, type_name, api_version)
        model = loader.load_data(f"{service_name}/{version}/{type_name}")
        loader._extras_processor.process(model, loader._find_extras(service_name, type_name, version))
        loaded[key] = model
        return model

    loaded: dict[tuple[str, str, str | None], Any] = {}
    loader.load_service_model = load_service_model


class AwsClients:
    """The botocore sessions (one per AWS CLI profile) and clients of one caller: a command, the app, a test.

    The caller makes one and passes it down; dropping it forgets every session and client, so a caller that
    changed the AWS config files (or a test with its own) simply makes a new one. Thread-safe.

    Args:
        models: the service models to share with other holders (default: a loader of its own).
    """

    def __init__(self, models: ServiceModels | None = None) -> None:
        self.models = models if models is not None else ServiceModels()
        self._lock = threading.Lock()
        self._sessions: dict[str | None, botocore.session.Session] = {}
        self._session_locks: dict[str | None, threading.Lock] = {}
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._files = _SharedFiles()
        self._endpoints: dict[tuple[Any, ...], str] = {}

    def renewed(self) -> AwsClients:
        """A new holder with no session or client, sharing these service models (after the config changed)."""
        return AwsClients(self.models)

    def unsigned_client(self, service: str, aws_profile: str | None, region: str) -> Any:
        """A client whose calls are not signed (IAM Identity Center's ``sso-oidc`` and ``sso`` portal: the
        aws CLI makes these with ``signature_version=UNSIGNED``), with ``aws_profile``'s settings
        (``endpoint_url``) when given. Cached, like :meth:`client`: the roles of one organization share them.

        Raises:
            AwsError: the profile is unknown, or the client cannot be made.
        """
        key = ("unsigned", service, aws_profile, region)
        cached = self._clients.get(key)
        if cached is not None:
            return cached
        import botocore
        from botocore.config import Config

        session = self.botocore_session(aws_profile)
        config = Config(signature_version=botocore.UNSIGNED, retries={"mode": "standard"})
        try:
            made = session.create_client(service, region_name=region, config=config)
        except Exception as error:
            raise translate(error, aws_profile=aws_profile, region=region) from error
        with self._lock:
            return self._clients.setdefault(key, made)

    def botocore_session(self, aws_profile: str | None) -> botocore.session.Session:
        """The cached botocore session of an AWS CLI profile (``None``: the SDK default chain).

        Raises:
            AwsError: the profile is not in the AWS config or credentials file (code ``ProfileNotFound``).
        """
        return self._session_and_lock(aws_profile)[0]

    def _session_and_lock(self, aws_profile: str | None) -> tuple[botocore.session.Session, threading.Lock]:
        with self._lock:
            session = self._sessions.get(aws_profile)
            if session is not None:
                return session, self._session_locks[aws_profile]
            from ssmux.sso.credentials import RoleSource, add_role_provider, role_target

            # A discovered role (sso:SESSION/ACCOUNT/ROLE) is its sign-in's profile, signing as the role.
            role = RoleSource.parse(aws_profile)
            target, profile = role_target(role) if role else (None, aws_profile)
            session = _shared_config_session_class()(
                profile=profile,
                event_hooks=self._files.builtin_handlers(),
                include_builtin_handlers=False,
            )
            session.shared_files = self._files
            try:
                # Fail here, with a clear message, rather than deep inside the first API call.
                session.get_scoped_config()
                session.register_component("credential_provider", self._files.credential_resolver(session))
                if role and target:
                    region = target.region
                    add_role_provider(
                        session, role, target, lambda s: self.unsigned_client(s, profile, region)
                    )
            except SsmuxError:
                raise  # already one line for the user (an sso-session missing from the AWS config)
            except Exception as error:
                raise translate(error, aws_profile=aws_profile) from error
            session.register_component("data_loader", self.models.loader)
            lock = threading.Lock()
            self._sessions[aws_profile] = session
            self._session_locks[aws_profile] = lock
            return session, lock

    def client(
        self,
        service: str,
        aws_profile: str | None,
        region: str | None,
        *,
        retries: RetryMode = "standard",
        max_attempts: int | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_pool_connections: int = 10,
        tag: str = "",
    ) -> Any:
        """A cached, thread-safe botocore client of ``service`` in ``region``, with ``aws_profile``'s keys.

        Args:
            service: botocore service name (``"ec2"``, ``"ssm"``, ``"kms"``, ``"sts"``).
            aws_profile: AWS CLI profile name, or ``None`` for the SDK default chain.
            region: region name, or ``None`` for the profile's configured region.
            retries: botocore retry mode; ``"adaptive"`` also rate-limits the client side.
            max_attempts: total attempts including the first; ``None`` keeps the mode's default (3).
            connect_timeout: seconds to establish a connection.
            read_timeout: seconds to wait for response bytes.
            max_pool_connections: HTTP connections the client keeps for concurrent calls.
            tag: a name for clients that get event hooks of their own (``"sync"``): they are cached apart,
                so a hook never reaches other users of the same service, profile and region.

        Raises:
            AwsError: unknown profile, no region, unknown service, or credentials that cannot be resolved.
        """
        key = (
            service,
            aws_profile,
            region,
            retries,
            max_attempts,
            connect_timeout,
            read_timeout,
            max_pool_connections,
            tag,
        )
        cached = self._clients.get(key)
        if cached is not None:
            return cached
        session, lock = self._session_and_lock(aws_profile)
        from botocore.config import Config

        retry_config: dict[str, Any] = {"mode": retries}
        if max_attempts is not None:
            retry_config["total_max_attempts"] = max_attempts
        config = Config(
            retries=retry_config,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=max_pool_connections,
        )
        # The first client of a service loads its model (the slow part) into the shared loader: one thread
        # does it while the others wait, instead of every sync worker parsing the same JSON at once.
        # Only that first creation is queued: a thread that waited for it goes on at once (without holding
        # the service's lock), else every sync worker would create its clients one after another.
        first = self.models.first_lock(service)
        if first is not None:
            first.acquire()
            if self.models.is_loaded(service):
                first.release()
                first = None
        try:
            with lock:
                cached = self._clients.get(key)
                if cached is not None:
                    return cached
                try:
                    made = session.create_client(service, region_name=region, config=config)
                    self.models.mark_loaded(service)
                except Exception as error:
                    raise translate(error, aws_profile=aws_profile, region=region) from error
                self._clients[key] = made
                return made
        finally:
            if first is not None:
                first.release()

    def region_of(self, aws_profile: str | None, region: str | None = None) -> str | None:
        """The region a client would use: ``region`` if given, else the profile's (or environment's) one."""
        if region:
            return region
        value = self.botocore_session(aws_profile).get_config_variable("region")
        return str(value) if value else None

    def endpoint_url(self, service: str, aws_profile: str | None, region: str | None) -> str:
        """The endpoint URL the client of ``service`` talks to (the AWS config's ``endpoint_url`` too)."""
        return str(self.client(service, aws_profile, region).meta.endpoint_url)

    def credentials(self, aws_profile: str | None) -> Credentials:
        """Resolve (and let botocore refresh) the credentials of ``aws_profile``.

        Raises:
            AwsError: nothing could be resolved, or SSO / assume-role / credential_process failed.
        """
        found = self.signing_credentials(aws_profile)
        try:
            frozen = found.get_frozen_credentials()  # may refresh them (SSO, assume-role)
        except Exception as error:
            raise translate(error, aws_profile=aws_profile) from error
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)

    # The async listing layer (ssmux.sync.calls): no botocore client per pair, only what signing needs -----
    def signing_credentials(self, aws_profile: str | None) -> Any:
        """The profile's botocore credentials (refreshable ones too): freeze them per request (:func:`sign`).

        Blocks while botocore resolves them (SSO, assume-role, credential_process): call it off the loop.

        Raises:
            AwsError: unknown profile, or nothing could be resolved.
        """
        session, lock = self._session_and_lock(aws_profile)
        try:
            with lock:
                found = session.get_credentials()
            if found is None:
                import botocore.exceptions

                raise botocore.exceptions.NoCredentialsError()
        except Exception as error:
            raise translate(error, aws_profile=aws_profile) from error
        return found

    def max_attempts(self, aws_profile: str | None) -> int:
        """Attempts per call, as a client of the profile has them (``max_attempts``, ``AWS_MAX_ATTEMPTS``)."""
        value = self.botocore_session(aws_profile).get_config_variable("max_attempts")
        return max(1, int(value)) if value else STANDARD_MAX_ATTEMPTS

    def service_endpoint(self, service: str, aws_profile: str | None, region: str) -> str:
        """The URL a botocore client of ``service`` would call (``endpoint_url`` / ``AWS_ENDPOINT_URL*`` too).

        Resolved as botocore resolves a client's, without making one (:func:`_resolve_endpoint`), once per
        distinct set of the profile's endpoint settings, region and service: 300 profiles x 4 regions that
        share their settings cost 8 resolutions, not 2,400. May read the config files: call it off the loop.

        Raises:
            AwsError: unknown profile, an invalid region or endpoint setting.
        """
        session, lock = self._session_and_lock(aws_profile)
        scoped = session.get_scoped_config()
        key = (service, region, *(str(scoped.get(name)) for name in _ENDPOINT_SETTINGS))
        cached = self._endpoints.get(key)
        if cached is not None:
            return cached
        try:
            with lock:
                url = _resolve_endpoint(session, self.models.loader, service, region)
        except Exception as error:
            raise translate(error, aws_profile=aws_profile, region=region) from error
        self._endpoints[key] = url
        return url


def _resolve_endpoint(session: Any, loader: Any, service: str, region: str) -> str:
    """The endpoint a client of ``service`` in ``region`` would call, without making the client.

    Why: a client loads the whole service model first (~30 ms for SSM, ~90 ms for EC2), and only its
    endpoint ruleset says where the calls go. The steps are botocore's own, in its order: the region must be
    a host label (``Session._resolve_region_name``); the configured URL (``AWS_ENDPOINT_URL_<SERVICE>``,
    ``AWS_ENDPOINT_URL``, the profile's ``services`` section, its ``endpoint_url``) unless
    ``ignore_configured_endpoint_urls`` (``ClientArgsCreator._compute_configured_endpoint_url``, with the
    ``ConfiguredEndpointProvider`` a session adds per client); then the service's endpoint ruleset with the
    builtins a client passes (``compute_endpoint_resolver_builtin_defaults``: FIPS and dual-stack only without
    a configured URL).
    """
    from botocore.configprovider import ConfiguredEndpointProvider
    from botocore.endpoint_provider import EndpointProvider
    from botocore.utils import validate_region_name

    validate_region_name(region)
    configured = None
    if not session.get_config_variable("ignore_configured_endpoint_urls"):
        configured = ConfiguredEndpointProvider(
            full_config=session.full_config,
            scoped_config=session.get_scoped_config(),
            client_name=service,
        ).provide()
    parameters: dict[str, Any] = {
        "Region": region,
        "UseFIPS": configured is None and bool(session.get_config_variable("use_fips_endpoint")),
        "UseDualStack": configured is None and bool(session.get_config_variable("use_dualstack_endpoint")),
    }
    if configured is not None:
        parameters["Endpoint"] = configured
    ruleset = loader.load_service_model(service, "endpoint-rule-set-1")
    partitions = loader.load_data("partitions")
    return str(EndpointProvider(ruleset, partitions).resolve_endpoint(**parameters).url)


#: The profile settings a service's endpoint depends on (besides the region and process-wide variables).
_ENDPOINT_SETTINGS = (
    "endpoint_url",
    "services",
    "ignore_configured_endpoint_urls",
    "use_fips_endpoint",
    "use_dualstack_endpoint",
)


class _SharedFiles:
    """The AWS config and credentials files, parsed once for every session of one :class:`AwsClients`.

    Why: each botocore session parses both files itself, twice over with its credential providers. With 300
    profiles in them that is ~36 ms of CPU per session, 15 s for an organization's sync. Parses are kept per
    file version (path, size, mtime, inode), so an edited file is read again. Only botocore reads the parsed
    dicts; nothing mutates them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._raw: dict[tuple[Any, ...], Any] = {}
        self._profiles: dict[tuple[Any, ...], Any] = {}
        self._full: dict[tuple[Any, ...], Any] = {}
        self._emitter: Any = None

    def builtin_handlers(self) -> Any:
        """A copy of an event emitter with botocore's builtin handlers, as a new session registers them.

        Why: a session registers its ~120 handlers one by one, inspecting each handler's signature: 12 ms
        of CPU per session, 3.6 s for 300 profiles. Registered once, the emitter is copied per session
        (botocore copies it the same way for each client).
        """
        import copy

        if self._emitter is None:
            from botocore import handlers
            from botocore.hooks import EventAliaser, HierarchicalEmitter

            emitter = HierarchicalEmitter()
            aliased = EventAliaser(emitter)
            # The loop of botocore.session.Session._register_builtin_handlers.
            for spec in handlers.BUILTIN_HANDLERS:
                if len(spec) == 2:
                    aliased.register(spec[0], spec[1])
                elif spec[2] is handlers.REGISTER_FIRST:
                    aliased.register_first(spec[0], spec[1])
                elif spec[2] is handlers.REGISTER_LAST:
                    aliased.register_last(spec[0], spec[1])
            with self._lock:
                if self._emitter is None:
                    self._emitter = emitter
        return copy.copy(self._emitter)

    def raw_config_parse(self, path: str | None, parse_subsections: bool = True) -> Any:
        """``botocore.configloader.raw_config_parse``, once per file version."""
        from botocore import configloader

        stamp = _stamp(path)
        if stamp is None:
            return configloader.raw_config_parse(path, parse_subsections)
        return self._once(self._raw, (stamp, parse_subsections), lambda: configloader.raw_config_parse(path))

    def load_config(self, path: str | None) -> Any:
        """``botocore.configloader.load_config``, once per file version."""
        from botocore import configloader

        stamp = _stamp(path)
        if stamp is None:
            return configloader.load_config(path)
        return self._once(self._profiles, stamp, lambda: configloader.load_config(path))

    def full_config(self, session: Any) -> Any:
        """What ``session.full_config`` gives, computed by botocore once per version of the two files."""
        import botocore.session

        key = (
            _stamp(session.get_config_variable("config_file")),
            _stamp(session.get_config_variable("credentials_file")),
        )
        if None in key:
            return botocore.session.Session.full_config.fget(session)
        return self._once(self._full, key, lambda: botocore.session.Session.full_config.fget(session))

    def credential_resolver(self, session: Any) -> Any:
        """botocore's own resolver chain for ``session``, its two file readers sharing these parses."""
        from botocore import credentials as bc

        resolver = bc.create_credential_resolver(session, region_name=session.get_config_variable("region"))
        profile = session.get_config_variable("profile") or "default"
        shared = {
            bc.SharedCredentialProvider.METHOD: lambda: bc.SharedCredentialProvider(
                creds_filename=session.get_config_variable("credentials_file"),
                profile_name=profile,
                ini_parser=self.raw_config_parse,
            ),
            bc.ConfigProvider.METHOD: lambda: bc.ConfigProvider(
                config_filename=session.get_config_variable("config_file"),
                profile_name=profile,
                config_parser=self.load_config,
            ),
        }
        resolver.providers = [
            shared[provider.METHOD]() if provider.METHOD in shared else provider
            for provider in resolver.providers
        ]
        return resolver

    def _once(self, cache: dict[Any, Any], key: Any, make: Any) -> Any:
        found = cache.get(key)
        if found is None:
            found = make()  # two threads may both parse once; the result is the same
            with self._lock:
                found = cache.setdefault(key, found)
        return found


def _stamp(path: str | None) -> tuple[Any, ...] | None:
    """A file's path and version (size, mtime, inode), ``None`` when it cannot be read."""
    import os
    from pathlib import Path

    if not path:
        return None
    expanded = Path(os.path.expandvars(path)).expanduser()  # as botocore expands it
    try:
        status = expanded.stat()
    except OSError:
        return None
    return (str(expanded), status.st_size, status.st_mtime_ns, status.st_ino)


def _shared_config_session_class() -> Any:
    """A botocore session class whose ``full_config`` comes from its holder's :class:`_SharedFiles`."""
    global _SESSION_CLASS  # a class made once, on first use: botocore is imported lazily
    if _SESSION_CLASS is None:
        import botocore.session

        class SharedConfigSession(botocore.session.Session):  # type: ignore[misc]
            shared_files: _SharedFiles

            @property
            def full_config(self) -> Any:
                return self.shared_files.full_config(self)

        _SESSION_CLASS = SharedConfigSession
    return _SESSION_CLASS


_SESSION_CLASS: Any = None


def sign(
    credentials: Any, service: str, region: str, url: str, body: bytes, headers: dict[str, str]
) -> dict[str, str]:
    """The headers of a POST of ``body`` to ``url``, signed with SigV4 (``botocore.auth.SigV4Auth``).

    ``credentials`` are the profile's botocore credentials, frozen here: a refreshable set is read whole,
    so a refresh between fields can never mix two key pairs. Freezing blocks while botocore refreshes.

    Raises:
        Exception: botocore's, when the credentials cannot be frozen (translate it).
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), service, region).add_auth(request)
    return dict(request.headers.items())


def needs_refresh(credentials: Any) -> bool:
    """Whether freezing ``credentials`` would make botocore refresh them first (which may block)."""
    from botocore.credentials import RefreshableCredentials

    return isinstance(credentials, RefreshableCredentials) and bool(credentials.refresh_needed())


@dataclass(frozen=True)
class _Answer:
    """What botocore's retry rules read of an HTTP response."""

    status_code: int
    headers: Any


class RetryRules:
    """botocore's ``standard`` retry mode for the calls of one (profile, region, service), as a client has.

    botocore's own classes decide: 3 attempts; retried are throttling codes, transient codes, 500/502/503/
    504, a 429 and connection errors; the delay is ``rand(0, 1) * min(base * 2 ** (attempt - 1), 20)`` with
    base 1 s for throttling and 50 ms otherwise (``x-amz-retry-after`` honoured); a retry quota (500, a retry
    costs 5 when throttled, 14 otherwise, a success gives back) stops retry storms. On top, ``budget``
    bounds the total time a call may spend retrying.
    """

    def __init__(
        self, service: str, *, max_attempts: int = STANDARD_MAX_ATTEMPTS, budget: float = 60.0
    ) -> None:
        from botocore.retries import quota, standard

        detector = standard.ThrottlingErrorDetector(retry_event_adapter=None)
        self.budget = budget
        # StandardRetryConditions without its two special cases (STS web identity, DynamoDB checksums):
        # they read the operation model, which this layer has no need to load.
        self._attempts = standard.MaxAttemptsChecker(max_attempts)
        self._retryable = standard.OrRetryChecker(
            [
                standard.TransientRetryableChecker(),
                standard.ThrottledRetryableChecker(),
                standard.ThrottlingStatusCodeChecker(),
                standard.ModeledRetryableChecker(),
            ]
        )
        self._backoff = standard.ExponentialBackoff(service_name=service, throttling_detector=detector)
        self._quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)

    def delay(
        self,
        attempt: int,
        context: dict[str, Any],
        *,
        status: int | None = None,
        headers: Any = None,
        error_code: str | None = None,
        exception: BaseException | None = None,
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None``: do not retry.

        ``context`` is one call's own dict (kept across its attempts, as botocore's request context).
        """
        from botocore.retries import standard

        retry = standard.RetryContext(
            attempt_number=attempt,
            parsed_response={"Error": {"Code": error_code}} if error_code else None,
            http_response=_Answer(status, headers or {}) if status is not None else None,
            caught_exception=exception,
            request_context=context,
        )
        if not (self._attempts.is_retryable(retry) and self._retryable.is_retryable(retry)):
            return None
        if not self._quota.acquire_retry_quota(retry):
            return None
        return float(self._backoff.delay_amount(retry))

    def succeeded(self, status: int, context: dict[str, Any]) -> None:
        """Give retry quota back after an answer (as botocore's ``after-call`` does)."""
        self._quota.release_retry_quota(context, _Answer(status, {}))


class Transport(Enum):
    """How a call failed below HTTP; each becomes the botocore error a client would have raised."""

    CONNECT_TIMEOUT = "connect-timeout"
    READ_TIMEOUT = "read-timeout"
    UNREACHABLE = "unreachable"
    CLOSED = "closed"


def transport_error(kind: Transport, url: str) -> Exception:
    """The botocore exception of a transport failure (retryable as such, and :func:`translate` reads it)."""
    import botocore.exceptions as bx

    made: dict[Transport, Any] = {
        Transport.CONNECT_TIMEOUT: bx.ConnectTimeoutError,
        Transport.READ_TIMEOUT: bx.ReadTimeoutError,
        Transport.UNREACHABLE: bx.EndpointConnectionError,
        Transport.CLOSED: bx.ConnectionClosedError,
    }
    return made[kind](endpoint_url=url)  # type: ignore[no-any-return]


def service_error(
    code: str, message: str, *, status: int, headers: dict[str, str], operation: str
) -> Exception:
    """The ``ClientError`` botocore raises for an AWS error answer (``response`` as botocore fills it)."""
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
    }
    error: Exception = ClientError(response, operation)
    return error


def unparsable_answer(detail: str) -> Exception:
    """The ``ResponseParserError`` botocore raises for a 200 answer that is not the expected document."""
    from botocore.parsers import ResponseParserError

    error: Exception = ResponseParserError(f"Unable to parse response ({detail})")
    return error


@dataclass(frozen=True)
class Credentials:
    """Resolved credentials, for the few places that must hand them on (the native KMS handshake)."""

    access_key: str
    secret_key: str
    token: str | None


def _who(aws_profile: str | None, region: str | None = None) -> str:
    name = f"AWS profile '{aws_profile}'" if aws_profile else "default AWS credentials"
    return f"{name} in {region}" if region else name


def _login_hint(aws_profile: str | None) -> str:
    return f" --profile {aws_profile}" if aws_profile else ""


def translate(
    error: BaseException,
    *,
    aws_profile: str | None,
    region: str | None = None,
    action: str | None = None,
) -> AwsError:
    """Turn a botocore/boto3 exception into an :class:`AwsError` with a one-line message that says what to do.

    Args:
        error: the exception raised by botocore (an ``AwsError`` is returned unchanged).
        aws_profile: the AWS CLI profile in use (``None``: SDK default chain).
        region: the region of the call, if known.
        action: the IAM action attempted, e.g. ``"ec2:DescribeInstances"``; named in access-denied messages.

    Returns:
        The error to raise; ``code`` is the AWS error code or one of ours (``ProfileNotFound``,
        ``SSOTokenExpired``, ``NoCredentials``, ``NoRegion``, ``EndpointUnreachable``, ``Timeout``, ...).
    """
    if isinstance(error, AwsError):
        return error
    import botocore.exceptions as bx

    who = _who(aws_profile, region)
    login = _login_hint(aws_profile)
    doing = f" calling {action}" if action else ""

    if isinstance(error, bx.ProfileNotFound):
        name = error.kwargs.get("profile", aws_profile)
        return AwsError(
            f"unknown AWS CLI profile '{name}': see ssmux aws-profiles", ErrorCode.PROFILE_NOT_FOUND
        )
    if isinstance(error, (bx.SSOError, bx.TokenRetrievalError)):
        return AwsError(
            f"{_who(aws_profile)}: SSO token expired or missing: run ssmux sso login "
            f"(or aws sso login{login})",
            ErrorCode.SSO_TOKEN_EXPIRED,
        )
    if isinstance(error, bx.LoginError):
        return AwsError(
            f"{_who(aws_profile)}: login session expired: run aws login{login}", ErrorCode.LOGIN_EXPIRED
        )
    if isinstance(error, bx.NoCredentialsError):
        return AwsError(
            f"{_who(aws_profile)}: no credentials found: run aws configure{login} (or aws sso login{login})",
            ErrorCode.NO_CREDENTIALS,
        )
    if isinstance(error, bx.PartialCredentialsError):
        return AwsError(
            f"{_who(aws_profile)}: incomplete credentials ({error.kwargs.get('cred_var')} missing): "
            f"run aws configure{login}",
            ErrorCode.PARTIAL_CREDENTIALS,
        )
    if isinstance(error, bx.RefreshWithMFAUnsupportedError):
        return AwsError(
            f"{_who(aws_profile)}: the MFA-protected role session expired: run any aws command{login} "
            "to enter a new code, then retry",
            ErrorCode.MFA_REQUIRED,
        )
    if isinstance(error, bx.CredentialRetrievalError):
        provider = error.kwargs.get("provider", "provider")
        reason = _one_line(error.kwargs.get("error_msg", error))
        return AwsError(
            f"{_who(aws_profile)}: could not get credentials from {provider}: {reason}: "
            f"check the profile with aws sts get-caller-identity{login}",
            ErrorCode.CREDENTIAL_RETRIEVAL,
        )
    if isinstance(error, (bx.ConfigParseError, bx.InvalidConfigError)):
        return AwsError(
            f"AWS config is invalid: {_one_line(error)}: fix the AWS config file", ErrorCode.INVALID_CONFIG
        )
    if isinstance(error, bx.NoRegionError):
        return AwsError(
            f"{_who(aws_profile)}: no region set: pass --region, set region in the AWS profile, "
            "or run ssmux settings set default_region REGION",
            ErrorCode.NO_REGION,
        )
    if isinstance(error, (bx.UnknownRegionError, bx.InvalidRegionError, bx.UnknownEndpointError)):
        return AwsError(f"{who}: {_one_line(error)}: check the region name", ErrorCode.INVALID_REGION)
    if isinstance(error, (bx.ConnectTimeoutError, bx.ReadTimeoutError)):
        return AwsError(
            f"{who}: endpoint timed out{doing} ({error.kwargs.get('endpoint_url', '?')}): "
            "check your network, VPN or proxy, or the profile's endpoint_url",
            ErrorCode.TIMEOUT,
        )
    if isinstance(error, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ProxyConnectionError)):
        url = error.kwargs.get("endpoint_url") or error.kwargs.get("proxy_url", "?")
        return AwsError(
            f"{who}: endpoint unreachable ({url}): "
            "check your network, VPN or proxy, or the profile's endpoint_url",
            ErrorCode.ENDPOINT_UNREACHABLE,
        )
    if isinstance(error, bx.SSLError):
        return AwsError(
            f"{who}: TLS failed for {error.kwargs.get('endpoint_url', '?')}: "
            "check AWS_CA_BUNDLE or your proxy",
            ErrorCode.SSL_ERROR,
        )
    if isinstance(error, bx.ClientError):
        return _translate_client_error(error, aws_profile=aws_profile, region=region, action=action)
    from botocore.parsers import ResponseParserError

    if isinstance(error, ResponseParserError):
        return _unparsable(error, who, doing)
    if isinstance(error, bx.BotoCoreError):
        return AwsError(f"{who}: AWS call failed{doing}: {_one_line(error)}", type(error).__name__)
    return AwsError(
        f"{who}: AWS call failed{doing}: {type(error).__name__}: {_one_line(error)}", ErrorCode.UNEXPECTED
    )


def _translate_client_error(
    error: Any, *, aws_profile: str | None, region: str | None, action: str | None
) -> AwsError:
    details = error.response.get("Error", {})
    code = str(details.get("Code") or ErrorCode.UNKNOWN)
    message = _one_line(details.get("Message") or "")
    who = _who(aws_profile, region)
    login = _login_hint(aws_profile)
    what = action or str(getattr(error, "operation_name", "") or "the call")
    if code in _ACCESS_DENIED:
        return AwsError(
            f"{who}: access denied to {what}: grant it to the role or user of that profile"
            + (f" ({message})" if message else ""),
            code,
        )
    if code in _THROTTLED:
        return AwsError(
            f"{who}: throttled by AWS on {what} after retries: try again later or lower --concurrency", code
        )
    if code in _EXPIRED:
        return AwsError(
            f"{_who(aws_profile)}: credentials expired: refresh them (aws sso login{login}, or new keys)",
            code,
        )
    if code in _REJECTED:
        return AwsError(
            f"{_who(aws_profile)}: credentials rejected by AWS ({code}): check the keys of the profile "
            f"with aws sts get-caller-identity{login}",
            code,
        )
    if code == "OptInRequired":
        return AwsError(
            f"{who}: the region or service is not enabled for this account: enable it first", code
        )
    return AwsError(f"{who}: {what} failed: {code}" + (f": {message}" if message else ""), code)


#: Longest AWS message kept in an error line: an endpoint (a proxy, a wrong endpoint_url) may answer pages.
MESSAGE_LIMIT = 240


def _one_line(value: object, limit: int = MESSAGE_LIMIT) -> str:
    """Collapse whitespace and cut at ``limit`` characters: an AWS message never breaks the one-line error
    contract, nor floods the terminal (an 8 KB message or page stays one short line)."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _unparsable(error: Any, who: str, doing: str) -> AwsError:
    # botocore's message is a sentence, then a newline and the whole body received: keep the sentence only.
    reason = str(error).split("\n", 1)[0].rstrip(" :")
    return AwsError(
        f"{who}: the endpoint's answer{doing} is not an AWS response ({_one_line(reason, 120)}): "
        "check the profile's endpoint_url, your proxy or VPN",
        type(error).__name__,
    )
