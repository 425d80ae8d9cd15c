"""TARGET on the command line -> the instance, AWS CLI profile and region a session uses.

TARGET is matched as ``ssmux ls TARGET`` matches (:func:`ssmux.sync.targets.match_targets`): an instance id,
a saved profile name, a synced display name or Name tag exactly, else what ``ls`` lists for it. One match is
used; several open the picker on a terminal, elsewhere they are an error that lists the candidates; none is
an error that suggests the closest names. An instance id nobody knows is used as is, with the settings'
default profile and region (else the profile's own region); if its session fails, the error says so.
``--aws-profile`` and ``--region`` override what the target resolves to.

What the last sync knows about the target's agent (offline, unmanaged, stopped) is said before the session
is tried, so the user sees why it is likely to fail; the session is still tried, because the cache may be
older than the fix.

A container (ECS Exec) resolves the same way, by ``cluster/service/container``, its task id, its container
name or its ``ecs:`` SSM target. One the last sync saw not ready (exec not enabled on its task, its agent
not running) is refused before any AWS call, with the reason and the fix: ECS would refuse it anyway, and a
container's session cannot be tried without what the sync knows of it (the cluster, task and container
that ``ExecuteCommand`` takes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ssmux.core.validation import is_instance_id
from ssmux.errors import ExitStatus, InvalidValue, NotFound, SsmuxError

if TYPE_CHECKING:
    from ssmux.core.models import Settings
    from ssmux.sessions.backends import SessionRequest
    from ssmux.sync.targets import ContainerRef, Target, TargetMatch

MAX_LISTED = 8


class Cancelled(SsmuxError):
    """The person at the terminal cancelled the picker."""

    exit_status = ExitStatus.INTERRUPTED


class NotReady(SsmuxError):
    """The target is a container that ECS Exec cannot reach now (as of the last sync)."""


@dataclass(frozen=True)
class ResolvedTarget:
    """Where a session goes.

    Attributes:
        instance_id: ``i-...`` or ``mi-...``.
        aws_profile: AWS CLI profile, or ``None`` to let the SDK decide.
        region: region, or ``None`` to let the SDK decide.
        label: how to name it to the user.
        problem: what the last sync knows that will likely make the session fail, or ``None``.
        container: for a container, where it runs (its session starts with ``ecs:ExecuteCommand``);
            ``None`` for an instance.
    """

    instance_id: str
    aws_profile: str | None
    region: str | None
    label: str
    problem: str | None = None
    container: ContainerRef | None = None


def candidate_label(target: Target) -> str:
    """One line describing a candidate target (picker entry, ambiguity error)."""
    where = target.group or "/".join(part for part in (target.aws_profile, target.region) if part) or "-"
    status = " ".join(part for part in (target.state, target.ping_status) if part)
    text = f"{target.short_name}  {target.instance_id}  {where}"
    return f"{text}  [{status}]" if status else text


def resolve_target(
    text: str,
    *,
    aws_profile: str | None = None,
    region: str | None = None,
    interactive: bool = False,
    pick: Callable[[Sequence[str]], int | None] | None = None,
    targets: Sequence[Target] | None = None,
    settings: Settings | None = None,
) -> ResolvedTarget:
    """Resolve TARGET ``text``; ``aws_profile``/``region`` (command-line options) win when given.

    ``text`` is matched as ``ssmux ls`` matches (:func:`ssmux.sync.targets.match_targets`): an exact id or
    name wins; else what ``ls TEXT`` lists. With ``--aws-profile``/``--region``, candidates of that profile
    and region are preferred, when there are some.

    Args:
        text: what the user typed.
        aws_profile: ``--aws-profile``, or ``None``.
        region: ``--region``, or ``None``.
        interactive: a person is at a terminal: ambiguity opens the picker.
        pick: the picker (default :func:`ssmux.sessions.picker.pick`); returns the chosen index or ``None``.
        targets: the targets to search (default: saved profiles and the synced cache).
        settings: the settings (default: loaded), for the default profile and region of a bare id.

    Raises:
        NotFound: nothing matches ``text`` (the message suggests the closest names), or it is an instance id
            no pair knows and no region is known to try it in.
        InvalidValue: several targets match and nobody can be asked.
        Cancelled: the picker was cancelled.
        NotReady: it is a container the last sync saw not ready for ECS Exec.
    """
    wanted = text.strip()
    if not wanted:
        raise InvalidValue("TARGET is empty: give an instance id, a saved profile name or a synced name")
    match = lookup(wanted, aws_profile=aws_profile, region=region, targets=targets)
    matches = list(match.targets)
    if not matches:
        message = unknown_target_message(wanted, match.suggestions)
        if message is None:
            return _unknown_instance(wanted, aws_profile, region, settings)
        raise NotFound(message)
    chosen = matches[0]
    if len(matches) > 1:
        chosen = matches[_ask(wanted, matches, interactive, pick)]
    refuse_not_ready(chosen)
    return ResolvedTarget(
        chosen.instance_id,
        aws_profile or chosen.aws_profile,
        region or chosen.region,
        _label(chosen),
        chosen.problem,
        chosen.container,
    )


def refuse_not_ready(target: Target) -> None:
    """Raise :class:`NotReady` for a container the last sync saw not ready for ECS Exec (the reason says
    what to do); nothing for a ready one or an instance."""
    if target.container is not None and not target.container.exec_ready:
        raise NotReady(target.problem or f"{target.name} is not ready for ECS Exec")


def refuse_not_ready_id(target_id: str) -> None:
    """:func:`refuse_not_ready` for the synced container whose SSM target is ``target_id`` (an ``ecs:`` id);
    nothing for an instance id or a container the cache does not know. Blocking (it reads the cache)."""
    if target_id.startswith("ecs:"):
        for target in lookup(target_id).targets:
            if target.instance_id == target_id:
                refuse_not_ready(target)


def container_request(request: SessionRequest, command: str = "/bin/sh") -> SessionRequest:
    """``request`` to an ``ecs:`` target made a container's session (``ecs:ExecuteCommand`` of ``command``),
    from what the synced cache knows of that container; any other request as it is. Blocking (it reads the
    cache): the app calls it in a worker thread.

    The app's tabs open on a target id: a container's is its SSM target, which names no container, so the
    cluster, task and container come from the cache, as ``ssmux connect`` has them.

    Raises:
        NotFound: no synced container has that SSM target.
        NotReady: the container is not ready for ECS Exec.
    """
    import dataclasses

    from ssmux.sessions.backends import ContainerCommand

    if request.container is not None or not request.target.startswith("ecs:"):
        return request
    found = [target for target in lookup(request.target).targets if target.instance_id == request.target]
    wanted = (request.aws_profile, request.region)
    found.sort(key=lambda target: (target.aws_profile, target.region) != wanted)
    if not found or found[0].container is None:
        raise NotFound(
            f"no synced container has the SSM target {request.target}: run 'ssmux sync', then open it from "
            "the list"
        )
    refuse_not_ready(found[0])
    ref = found[0].container
    container = ContainerCommand(ref.cluster, ref.task_id, ref.container_name, command)
    return dataclasses.replace(request, container=container)


def _label(target: Target) -> str:
    name: str = target.short_name
    return name if name == target.instance_id else f"{name} ({target.instance_id})"


def lookup(
    text: str,
    *,
    aws_profile: str | None = None,
    region: str | None = None,
    targets: Sequence[Target] | None = None,
) -> TargetMatch:
    """What ``text`` names, as ``ssmux ls`` finds it: the one matching of the CLI and the app.

    Blocking when ``targets`` is ``None`` (it reads the profile files and the cache): the app calls it
    through ``run.io_bound``. Candidates of ``aws_profile``/``region`` are preferred when there are some.

    Raises:
        StoreError: a profile file or the cache cannot be read.
    """
    from ssmux.sync import targets as targets_module

    wanted = text.strip()
    loaded = targets is None
    if targets is None:
        targets = targets_module.load_targets(wanted)
    match = targets_module.match_targets(_preferred(targets, aws_profile, region), wanted)
    if loaded and match.kind is targets_module.MatchKind.NONE:
        # The loaded targets were narrowed by the words typed: suggest from all of them.
        suggestions = targets_module.suggest(targets_module.load_targets(), wanted)
        match = targets_module.TargetMatch(targets_module.MatchKind.NONE, suggestions=suggestions)
    return match


def unknown_target_message(text: str, suggestions: Sequence[str]) -> str | None:
    """The one line for a TARGET that matches nothing; ``None`` when it is an instance id to try as is.

    Text that starts like an id (``i-``, ``mi-``) but is not one gets the id's format; anything else the
    closest names (``suggestions``, from :func:`lookup`) when there are some.
    """
    if is_instance_id(text):
        return None
    if text.startswith("ecs:"):
        return (
            f"no synced container has the SSM target {text!r}: run 'ssmux sync' and see 'ssmux ls', or name "
            "the container as cluster/service/container"
        )
    if text.startswith(("i-", "mi-")):
        from ssmux.core.validation import validate_instance_id

        try:
            validate_instance_id(text)
        except InvalidValue as error:
            return str(error)
    hint = f"; did you mean {' or '.join(repr(name) for name in suggestions)}?" if suggestions else ""
    return (
        f"no target named {text!r}{hint}: see 'ssmux ls' (run 'ssmux sync' to refresh it), "
        "or give an instance id"
    )


def _preferred(targets: Sequence[Target], aws_profile: str | None, region: str | None) -> Sequence[Target]:
    """The targets of ``--aws-profile``/``--region`` when some are; else all (the options then override)."""
    if aws_profile is None and region is None:
        return targets
    kept = [
        target
        for target in targets
        if (aws_profile is None or target.aws_profile == aws_profile)
        and (region is None or target.region == region)
    ]
    return kept or targets


def _ask(
    wanted: str, matches: Sequence[Target], interactive: bool, pick: Callable[[list[str]], int | None] | None
) -> int:
    """The index of the candidate chosen in the picker; without a terminal, the error that lists them."""
    labels = [candidate_label(target) for target in matches]
    if not interactive:
        listed = "; ".join(labels[:MAX_LISTED]) + ("; ..." if len(labels) > MAX_LISTED else "")
        if any(target.container is not None for target in matches):
            hint = "give the instance id, a container's ecs: target (as listed), or a saved profile name"
        else:
            hint = "give the instance id or a saved profile name"
        raise InvalidValue(f"{wanted!r} matches {len(matches)} targets: {listed}: {hint}")
    if pick is None:
        from ssmux.sessions.picker import pick as default_pick

        pick = default_pick
    index: int | None = pick(labels)
    if index is None:
        raise Cancelled("no target chosen")
    return index


def _unknown_instance(
    instance_id: str, aws_profile: str | None, region: str | None, settings: Settings | None
) -> ResolvedTarget:
    """An instance id no synced pair knows: tried with the options, else the settings' defaults, else the
    AWS profile's own region (:func:`unknown_instance_note` says which when the session fails)."""
    if settings is None:
        from ssmux.core.store import load_settings

        settings = load_settings()
    profile = aws_profile or settings.default_aws_profile
    where = region or settings.default_region or _profile_region(profile)
    who = f"AWS profile {profile!r}" if profile else "the default AWS profile"
    if where is None:
        raise NotFound(
            f"{instance_id} is not in any synced pair, and {who} sets no region: pass --region "
            "(or run 'ssmux settings set default_region REGION'), or add its pair with "
            "'ssmux pair add PROFILE/REGION' and run 'ssmux sync'"
        )
    return ResolvedTarget(instance_id, profile, where, instance_id)


def unknown_instance_note(
    text: str, *, aws_profile: str | None = None, region: str | None = None
) -> str | None:
    """For a session that failed: that TARGET ``text`` is an instance id no synced pair knows, and with
    which AWS profile and region it was tried; ``None`` when it is not such an id.

    Said only after a failure: a session to an id given by hand that works needs no word about the sync.
    """
    wanted = text.strip()
    if not is_instance_id(wanted) or lookup(wanted).targets:
        return None
    try:
        resolved = _unknown_instance(wanted, aws_profile, region, None)
    except SsmuxError:
        return None
    who = f"AWS profile {resolved.aws_profile!r}" if resolved.aws_profile else "the default AWS profile"
    return f"{wanted} is not in any synced pair: it was tried with {who} in {resolved.region}"


def _profile_region(aws_profile: str | None) -> str | None:
    """The region the AWS config (or the environment) gives ``aws_profile``; else ``None``."""
    from ssmux.core.aws import AwsClients

    try:
        return AwsClients().region_of(aws_profile)
    except SsmuxError:
        return None


def record_recent(
    instance_id: str,
    aws_profile: str | None,
    region: str | None,
    warn: Callable[[str], None] | None = None,
) -> None:
    """Put this session's instance, profile and region at the front of the settings' recent lists.

    A settings file that cannot be written must not stop a session that already runs: the failure is
    reported to ``warn`` (default: a warning line on stderr) and the session goes on.
    """
    import sys

    from ssmux.core.store import record_recent as store_recent

    # A container's ``ecs:`` target is no instance id for the recent list; its profile and region are kept.
    recent_id = instance_id if is_instance_id(instance_id) else None
    try:
        store_recent(instance_id=recent_id, aws_profile=aws_profile, region=region)
    except SsmuxError as error:
        if warn is not None:
            warn(f"recent lists not updated: {error}")
        else:
            sys.stderr.write(f"ssmux: warning: recent lists not updated: {error}\n")
