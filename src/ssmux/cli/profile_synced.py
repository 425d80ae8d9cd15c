"""``ssmux profile save-synced TARGET``: turn a synced instance into an editable saved profile.

The saved profile keeps the pair's AWS CLI profile and region (so it connects the same way) and the AWS
tags as ``key=value`` labels; from then on ``ssmux ls`` shows the instance once, as the saved profile.
"""

from __future__ import annotations

import click


@click.command("save-synced")
@click.argument("target")
@click.option("--name", metavar="N", help="Profile name (default: the Name tag, else the instance id).")
@click.option("--group", metavar="G", help="Group of the new profile.")
def save_synced(target: str, name: str | None, group: str | None) -> None:
    """Save the synced instance TARGET (id, Name tag or 'Name (id)') as a profile."""
    from ssmux.core import store
    from ssmux.core.models import Group, Profile, ProfileBook
    from ssmux.core.validation import validate_profile, validate_tag
    from ssmux.errors import AlreadyExists, InvalidValue, NotFound
    from ssmux.sync.inventory import Inventory
    from ssmux.sync.targets import find, synced_target

    inventory = Inventory()
    statuses = {(status.aws_profile, status.region): status for status in inventory.pairs()}
    synced = [
        synced_target(item, statuses.get((item.aws_profile, item.region))) for item in inventory.instances()
    ]
    matches = find(synced, target)
    if not matches:
        raise NotFound(f"no synced instance {target!r}: see 'ssmux ls --all', or run 'ssmux sync' first")
    if len(matches) > 1:
        listed = ", ".join(f"{match.name} in {match.group}" for match in matches[:5])
        raise InvalidValue(
            f"{target!r} names {len(matches)} synced instances ({listed}): give the instance id"
        )
    found = matches[0]
    labels = set()
    for key, value in found.tags.items():
        if key == "Name":
            continue
        try:
            labels.add(validate_tag(f"{key}={value}" if value else key))
        except InvalidValue:
            continue  # an AWS tag a saved label cannot hold (control characters): leave it out
    profile = validate_profile(
        Profile(
            name=name if name is not None else found.name_tag or found.instance_id,
            instance_id=found.instance_id,
            group=group,
            tags=frozenset(labels),
            aws_profile=found.aws_profile,
            region=found.region,
        )
    )

    def add(book: ProfileBook) -> ProfileBook:
        # Checked under the store's lock: two saves of one instance cannot both pass.
        saved = next((p for p in book.profiles if p.instance_id == found.instance_id), None)
        if saved is not None:
            raise AlreadyExists(
                f"{found.instance_id} is already saved as profile {saved.name!r}: "
                "change it with 'ssmux profile edit'"
            )
        if group is not None and book.get_group(profile.group or "") is None:
            # Declared, like 'ssmux profile add' does, so 'ssmux group ls' and 'group edit' know it.
            book = book.with_group(Group(profile.group or ""))
        return book.with_profile(profile)

    store.update_profiles(add)
    click.echo(
        f"saved profile {profile.name!r}: {profile.instance_id} via {profile.aws_profile}/{profile.region}"
        + (f" in group {profile.group!r}" if profile.group else "")
    )
