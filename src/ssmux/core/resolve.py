"""Which AWS CLI profile and region a saved profile uses, and where each came from.

Each of the two is resolved on its own, first set wins: the profile's own value, then its group's, then the
settings default. When none is set the value is ``None`` with source ``"sdk"``: ssmux then passes no
``--profile``/``--region`` and leaves the choice to the AWS SDK or CLI (``AWS_PROFILE``, ``AWS_REGION``, the
``default`` profile, the profile's ``region`` in ``~/.aws/config``), exactly as ``aws`` itself would.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ssmux.core.models import Profile, ProfileBook, Settings


class Source(StrEnum):
    """Where a resolved value came from; the value is what ``ssmux profile show`` and its JSON print."""

    PROFILE = "profile"
    GROUP = "group"
    SETTINGS = "settings"
    SDK = "sdk"  # nothing set: the AWS SDK or CLI chooses


#: Every value :attr:`Resolution.aws_profile_source` and :attr:`Resolution.region_source` can take.
SOURCES: tuple[Source, ...] = tuple(Source)


@dataclass(frozen=True)
class Resolution:
    """The AWS CLI profile and region to use for a saved profile.

    Attributes:
        aws_profile: Profile name, or ``None`` to let the SDK choose.
        aws_profile_source: Where ``aws_profile`` came from.
        region: Region name, or ``None`` to let the SDK choose.
        region_source: Where ``region`` came from.
    """

    aws_profile: str | None
    aws_profile_source: Source
    region: str | None
    region_source: Source

    def to_dict(self) -> dict[str, str | None]:
        """The JSON form."""
        return {
            "aws_profile": self.aws_profile,
            "aws_profile_source": self.aws_profile_source,
            "region": self.region,
            "region_source": self.region_source,
        }


def resolve(profile: Profile, book: ProfileBook, settings: Settings) -> Resolution:
    """Resolve the AWS CLI profile and region of ``profile``: profile -> group -> settings -> SDK.

    A group named by the profile but not declared in ``book`` contributes nothing.
    """
    group = book.get_group(profile.group) if profile.group is not None else None
    aws_profile, aws_profile_source = _first(
        profile.aws_profile, group.aws_profile if group else None, settings.default_aws_profile
    )
    region, region_source = _first(profile.region, group.region if group else None, settings.default_region)
    return Resolution(aws_profile, aws_profile_source, region, region_source)


def _first(own: str | None, group: str | None, default: str | None) -> tuple[str | None, Source]:
    if own:
        return own, Source.PROFILE
    if group:
        return group, Source.GROUP
    if default:
        return default, Source.SETTINGS
    return None, Source.SDK
