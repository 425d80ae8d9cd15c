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

    AWS profile 'prod': SSO token expired or missing: run aws sso login --profile prod

boto3/botocore are imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ssmux.errors import AwsError, ErrorCode

if TYPE_CHECKING:
    import botocore.session

RetryMode = Literal["standard", "adaptive"]

#: Seconds to wait for a TCP connection; a VPN that is down should fail fast, not hang a sync.
DEFAULT_CONNECT_TIMEOUT = 5.0
#: Seconds to wait for a response; a 1000-instance DescribeInstances page takes well under this.
DEFAULT_READ_TIMEOUT = 30.0

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

    def renewed(self) -> AwsClients:
        """A new holder with no session or client, sharing these service models (after the config changed)."""
        return AwsClients(self.models)

    def unsigned_client(self, service: str, aws_profile: str | None, region: str) -> Any:
        """A client whose calls are not signed (IAM Identity Center's ``sso-oidc`` and ``sso`` portal: the
        aws CLI makes these with ``signature_version=UNSIGNED``), with ``aws_profile``'s settings
        (``endpoint_url``) when given. Not cached: sign-in and discovery make a few calls each.

        Raises:
            AwsError: the profile is unknown, or the client cannot be made.
        """
        import botocore
        from botocore.config import Config

        session = self.botocore_session(aws_profile)
        config = Config(signature_version=botocore.UNSIGNED, retries={"mode": "standard"})
        try:
            return session.create_client(service, region_name=region, config=config)
        except Exception as error:
            raise translate(error, aws_profile=aws_profile, region=region) from error

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
            import botocore.session

            session = botocore.session.Session(profile=aws_profile)
            try:
                # Fail here, with a clear message, rather than deep inside the first API call.
                session.get_scoped_config()
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
        session, lock = self._session_and_lock(aws_profile)
        try:
            with lock:
                found = session.get_credentials()
            if found is None:
                import botocore.exceptions

                raise botocore.exceptions.NoCredentialsError()
            frozen = found.get_frozen_credentials()
        except Exception as error:
            raise translate(error, aws_profile=aws_profile) from error
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token)


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
            f"{_who(aws_profile)}: SSO token expired or missing: run aws sso login{login}",
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
