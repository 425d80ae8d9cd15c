"""What a front end does with an organization: which sign-ins there are, discovery, and profiles with pairs.

``ssmux sso discover --write-aws-config --add-pairs`` and the app's Accounts page make the same change: a
profile per chosen (account, role) in the AWS config's ssmux block (:mod:`ssmux.sso.config_block`), and a
sync pair per written profile and region in ssmux's settings. :func:`write_profiles` is that change, once,
for both; it returns what it did and prints nothing, so each front end shows it its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ssmux.errors import InvalidValue
from ssmux.sso.config_block import Written, write_block
from ssmux.sso.discover import AccountRole, Discovery, discover
from ssmux.sso.login import SsoTarget, resolve_target, usable_token
from ssmux.sso.tokens import TokenCache

if TYPE_CHECKING:
    from ssmux.core.aws import AwsClients
    from ssmux.core.models import Settings, SyncPair


@dataclass(frozen=True)
class Populated:
    """What :func:`write_profiles` did.

    Attributes:
        config_file: The AWS config file written.
        written: The profiles in the block, and the names skipped because they exist outside it.
        pairs: The sync pairs asked for (one per written profile and region).
        added: Those of ``pairs`` that were new in the settings (the others were there already).
    """

    config_file: Path
    written: Written
    pairs: tuple[SyncPair, ...] = ()
    added: tuple[SyncPair, ...] = ()


#: Regions for pairs: the same for every account, or per account id (every region enabled in each).
Regions = Sequence[str] | Mapping[str, Sequence[str]]


def regions_of(regions: Regions, account_id: str) -> Sequence[str]:
    """The regions of ``account_id``'s pairs (an account missing from a mapping gets none)."""
    if isinstance(regions, Mapping):
        return regions.get(account_id, ())
    return regions


def role_pair(aws_profile: str, region: str, role: AccountRole) -> SyncPair:
    """A sync pair of ``role`` in ``region``, labelled with its account's name and the role."""
    from ssmux.core.models import SyncPair

    return SyncPair(aws_profile, region, account_name=role.account_name or None, role_name=role.role_name)


def write_profiles(
    session_name: str | None,
    aws_profile: str | None,
    roles: Sequence[AccountRole],
    regions: Regions = (),
    *,
    add_pairs: bool = False,
) -> Populated:
    """Write a profile per role into the AWS config's block of ``session_name``; with ``add_pairs``, add a
    sync pair per written profile and region (``regions`` per account id: every region enabled in each).

    The sign-in profile's ``endpoint_url`` (an emulator, a VPC endpoint) is given to the profiles made from
    it; the first region (of a list) becomes their ``region``.

    Raises:
        InvalidValue: no sso-session (profiles of a bare start URL cannot refresh).
        StoreError: the AWS config or the settings cannot be written.
    """
    import botocore.session

    from ssmux.sso.config_block import profile_name

    if session_name is None:
        raise InvalidValue(
            "--write-aws-config needs an sso-session (profiles of a bare start URL cannot refresh)"
        )
    session = botocore.session.Session()
    config_file = Path(session.get_config_variable("config_file")).expanduser()
    settings = session.full_config.get("profiles", {}).get(aws_profile or "", {})
    first = None if isinstance(regions, Mapping) else (regions[0] if regions else None)
    written = write_block(
        config_file, session_name, roles, region=first, endpoint_url=settings.get("endpoint_url")
    )
    if not add_pairs:
        return Populated(config_file, written)
    by_name = {profile_name(session_name, role): role for role in roles}
    pairs = tuple(
        role_pair(name, region, by_name[name])
        for name in written.profiles
        for region in regions_of(regions, by_name[name].account_id)
    )
    return Populated(config_file, written, pairs, add_pairs_to_settings(pairs))


def add_role_pairs(
    session_name: str | None, roles: Sequence[AccountRole], regions: Regions
) -> tuple[SyncPair, ...]:
    """Add a sync pair per role and region that signs as the role itself (``sso:<session>/<account>/<role>``,
    :mod:`ssmux.sso.credentials`): nothing is written to the AWS config. The pairs that were new.

    Raises:
        InvalidValue: no sso-session (a bare start URL's sign-in cannot be refreshed for later syncs).
    """
    from ssmux.sso.credentials import RoleSource

    if session_name is None:
        raise InvalidValue("pairs of discovered roles need an sso-session: give --sso-session NAME")
    return add_pairs_to_settings(
        tuple(
            role_pair(RoleSource(session_name, role.account_id, role.role_name).name, region, role)
            for role in roles
            for region in regions_of(regions, role.account_id)
        )
    )


def vanished_role_pairs(session_name: str | None, found: Sequence[AccountRole]) -> list[SyncPair]:
    """The sync pairs of ``session_name``'s roles (``sso:``) whose role discovery no longer finds."""
    from ssmux.core.store import load_settings
    from ssmux.sso.credentials import RoleSource

    if session_name is None:
        return []
    reachable = {(role.account_id, role.role_name) for role in found}
    gone = []
    for pair in load_settings().sync_pairs:
        source = RoleSource.parse(pair.aws_profile)
        if source and source.session == session_name and (source.account_id, source.role) not in reachable:
            gone.append(pair)
    return gone


def add_pairs_to_settings(pairs: Sequence[SyncPair]) -> tuple[SyncPair, ...]:
    """Add ``pairs`` to the settings (under the lock); those that were new.

    A pair already there keeps its switches (``enabled``, ``containers``) and takes the new one's account
    and role names: discovery run again renames what was renamed in the organization.
    """
    from ssmux.core.store import update_settings

    added: list[SyncPair] = []

    def change(current: Settings) -> Settings:
        wanted = {pair.key: pair for pair in pairs}
        known = {pair.key for pair in current.sync_pairs}
        added[:] = [pair for key, pair in wanted.items() if key not in known]
        kept = tuple(_relabelled(pair, wanted.get(pair.key)) for pair in current.sync_pairs)
        return replace(current, sync_pairs=(*kept, *added))

    update_settings(change)
    return tuple(added)


def _relabelled(pair: SyncPair, found: SyncPair | None) -> SyncPair:
    if found is None or (found.account_name, found.role_name) == (None, None):
        return pair
    return replace(pair, account_name=found.account_name, role_name=found.role_name)


# Sign-ins and discovery, for the app ------------------------------------------------------------------


def sso_sessions() -> list[str]:
    """The ``[sso-session NAME]`` sections of the AWS config, sorted."""
    import botocore.session

    return sorted(botocore.session.Session().full_config.get("sso_sessions", {}))


def session_of_profile(aws_profile: str) -> str | None:
    """The sso-session an AWS CLI profile signs in with, or ``None`` (no such profile, or not SSO); a role
    named ``sso:<session>/<account>/<role>`` (a pair with no profile written) gives its session."""
    import botocore.session

    if aws_profile.startswith("sso:"):
        return aws_profile.removeprefix("sso:").split("/", 1)[0] or None

    profiles: dict[str, dict[str, Any]] = botocore.session.Session().full_config.get("profiles", {})
    value = profiles.get(aws_profile, {}).get("sso_session")
    return str(value) if value else None


@dataclass(frozen=True)
class Organization:
    """A discovery with what it was made for: where the user signed in, and the profile carrying its
    settings (``endpoint_url``)."""

    target: SsoTarget
    aws_profile: str | None
    found: Discovery


def discover_organization(
    clients: AwsClients,
    session_name: str | None = None,
    *,
    cache: TokenCache | None = None,
    token_refresh: Callable[[], Any] | None = None,
) -> Organization:
    """Every account and role of a sign-in (the config's only sso-session when ``session_name`` is None).

    Raises:
        InvalidValue: no such sso-session, or several and none named.
        AwsError: not signed in, the sign-in expired, or the portal failed (the message says what to do).
    """
    target, aws_profile = resolve_target(session_name=session_name)
    oidc = token_refresh or (lambda: clients.unsigned_client("sso-oidc", aws_profile, target.region))
    token = usable_token(target, oidc, cache)
    found = discover(clients.unsigned_client("sso", aws_profile, target.region), token, target)
    return Organization(target, aws_profile, found)


@dataclass(frozen=True)
class SignInState:
    """An sso-session of the AWS config and its cached sign-in.

    Attributes:
        session_name: The ``[sso-session NAME]``.
        start_url: Its access portal (``""`` when the section lacks one).
        expires_at: When the cached access token expires, or ``None`` when there is none.
        refreshable: Whether that token can be renewed without signing in again.
    """

    session_name: str
    start_url: str
    expires_at: datetime | None
    refreshable: bool = False

    def signed_in(self, now: datetime) -> bool:
        """Whether a sync would find a usable token (or one it can renew)."""
        return self.expires_at is not None and (self.expires_at > now or self.refreshable)


def sign_in_states(cache: TokenCache | None = None) -> list[SignInState]:
    """Every sso-session of the AWS config with its cached sign-in, by name."""
    import botocore.session

    cache = cache or TokenCache()
    sessions: dict[str, dict[str, Any]] = botocore.session.Session().full_config.get("sso_sessions", {})
    states: list[SignInState] = []
    for name in sorted(sessions):
        url = str(sessions[name].get("sso_start_url") or "")
        token = cache.token(url, name) if url else None
        states.append(
            SignInState(
                name,
                url,
                token.expires_at if token else None,
                bool(token and token.refresh_token),
            )
        )
    return states
