"""Puts a scenario into moto (accounts, users, keys, instances) and answers what SSM knows about its nodes.

Each scenario profile is its own account. moto decides the account of a request from the ``x-moto-account-id``
header, else from the access key (it searches the IAM users of every account), else its default account; the
API middleware sets the header from the profile's access key, and :func:`seed` also creates the profile's
IAM user with exactly that access key, so ``sts get-caller-identity`` names the user.

Instances are put straight into moto's EC2 backend, one reservation each: moto pages DescribeInstances by
reservation, and AWS pages by instance. Going through the backend is fast enough for 20,000 instances, and a
patched id generator gives them the scenario's ids. EC2 state is then moto's: an instance stopped through
the API is stopped for SSM too (:meth:`Node.ping_status`).

The accounts of a generated organization (the scenario's hidden profiles, hundreds of them) are put into moto
on first use instead, one (account, region) at a time: :meth:`Fleet.ensure`, which the API middleware calls
before any call of that account is answered, so a 300-account organization starts in a second and each of
its regions costs about 2 ms when first listed. What a call sees is the same either way.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ssmux.emulator.scenario import PLATFORMS, Scenario, ScenarioInstance

log = logging.getLogger(__name__)

IMAGE_IDS = {"linux": "ami-0a1b2c3d4e5f60718", "windows": "ami-0f1e2d3c4b5a69788"}
_STARTED = time.time()
STATE_CODES = {
    "pending": 0,
    "running": 16,
    "shutting-down": 32,
    "terminated": 48,
    "stopping": 64,
    "stopped": 80,
}


def prepare_moto_environment() -> None:
    """Settings moto reads from the environment; call before moto is imported."""
    # Loading moto's ~1,300 default AMIs costs 0.3 s per region and the scenario needs none of them.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    # MOTO_ACCOUNT_ID would put every profile in one account, which is the one thing we must not do.
    os.environ.pop("MOTO_ACCOUNT_ID", None)


@dataclass(frozen=True)
class Node:
    """A scenario instance together with moto's live record of it (None for ``mi-`` nodes)."""

    spec: ScenarioInstance
    ec2: Any = None

    @property
    def instance_id(self) -> str:
        """``i-...`` or ``mi-...``."""
        return self.spec.instance_id

    @property
    def ec2_state(self) -> str:
        """moto's current EC2 state (``running`` for managed nodes)."""
        return str(self.ec2.state) if self.ec2 is not None else "running"

    @property
    def managed(self) -> bool:
        """Whether SSM knows the node at all (unmanaged and terminated instances are invisible to it)."""
        return self.spec.ssm != "unmanaged" and self.ec2_state != "terminated"

    @property
    def connected(self) -> bool:
        """Whether a session can start: agent online and the instance running."""
        return self.managed and self.spec.ssm == "online" and self.ec2_state == "running"

    @property
    def ping_status(self) -> str:
        """``Online`` or ``ConnectionLost`` as DescribeInstanceInformation says."""
        return "Online" if self.connected else "ConnectionLost"

    @property
    def ip_address(self) -> str:
        """Private address: moto's for EC2 instances, the scenario's for managed nodes."""
        if self.ec2 is not None and self.ec2.private_ip:
            return str(self.ec2.private_ip)
        return self.spec.private_ip

    @property
    def computer_name(self) -> str:
        """Host name the agent reports."""
        if self.spec.platform == "windows":
            return self.spec.computer_name
        if self.ec2 is not None:
            return str(self.ec2.private_dns_name)
        return self.spec.name or self.spec.instance_id

    def _last_ping(self) -> float:
        # An online agent pinged just now; a lost one last pinged before the emulator started.
        return time.time() if self.connected else _STARTED - 3600

    def information(self) -> dict[str, Any]:
        """This node as an InstanceInformation structure of DescribeInstanceInformation."""
        platform_type, platform_name, platform_version, _ = PLATFORMS[self.spec.platform]
        info: dict[str, Any] = {
            "InstanceId": self.instance_id,
            "PingStatus": self.ping_status,
            "LastPingDateTime": self._last_ping(),
            "AgentVersion": self.spec.agent_version,
            "IsLatestVersion": False,
            "PlatformType": platform_type,
            "PlatformName": platform_name,
            "PlatformVersion": platform_version,
            "ResourceType": "ManagedInstance" if self.spec.is_managed_node else "EC2Instance",
            "IPAddress": self.ip_address,
            "ComputerName": self.computer_name,
            "AssociationStatus": "Success",
            "SourceId": self.instance_id,
            "SourceType": "AWS::SSM::ManagedInstance" if self.spec.is_managed_node else "AWS::EC2::Instance",
        }
        if self.spec.is_managed_node:
            info["RegistrationDate"] = _STARTED - 30 * 86400
            info["Name"] = self.spec.name or self.instance_id
            info["IamRole"] = "SSMServiceRole"
            info["ActivationId"] = "00000000-0000-4000-8000-" + self.instance_id[-12:]
        return {key: value for key, value in info.items() if value is not None}


class Fleet:
    """The seeded scenario: nodes by (account, region), KMS keys, and profiles."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self._nodes: dict[tuple[str, str], list[Node]] = {}
        self._by_id: dict[tuple[str, str, str], Node] = {}
        self._kms_keys: dict[tuple[str, str], str] = {}
        self._pending: dict[tuple[str, str], list[ScenarioInstance]] = {}
        self._seeding = threading.Lock()

    def seed(self) -> None:
        """Create the written profiles' IAM users, KMS keys and instances in moto; hidden accounts' wait.

        A hidden account's keys are never handed out (only its role grants' are), so it needs no IAM user;
        its instances are created by :meth:`ensure` when a call first reaches its account and region.
        """
        for profile in self.scenario.profiles:
            _create_user(profile.account_id, profile.region, profile.user, profile.access_key_id,
                         profile.secret_access_key)  # fmt: skip
            if profile.kms_key:
                for region in self.scenario.regions(profile):
                    arn = _create_kms_key(profile.account_id, region, profile.kms_key)
                    self._kms_keys[(profile.account_id, region)] = arn
        hidden = {profile.account_id for profile in self.scenario.hidden}
        groups: dict[tuple[str, str], list[ScenarioInstance]] = {}
        for spec in self.scenario.instances:
            groups.setdefault((spec.account_id, spec.region), []).append(spec)
        for (account_id, region), specs in groups.items():
            if account_id in hidden:
                self._pending[(account_id, region)] = specs
            else:
                self._add(account_id, region, _create_instances(account_id, region, specs))

    def ensure(self, account_id: str, region: str) -> None:
        """Put a hidden account's instances of ``region`` into moto, unless they already are (thread-safe)."""
        key = (account_id, region)
        if key not in self._pending:  # the common case, without the lock
            return
        with self._seeding:
            specs = self._pending.get(key)
            if specs is None:  # another thread did it while this one waited
                return
            self._add(account_id, region, _create_instances(account_id, region, specs))
            # Last: until now other threads see the key pending and wait on the lock for the nodes.
            del self._pending[key]

    def _add(self, account_id: str, region: str, nodes: list[Node]) -> None:
        self._nodes[(account_id, region)] = nodes
        for node in nodes:
            self._by_id[(account_id, region, node.instance_id)] = node

    def node(self, account_id: str, region: str, instance_id: str) -> Node | None:
        """The node with this id in this account and region (ids are per region, as in AWS)."""
        self.ensure(account_id, region)
        return self._by_id.get((account_id, region, instance_id))

    def nodes(self, account_id: str, region: str) -> list[Node]:
        """Nodes of one account and region, in scenario order, unmanaged ones included."""
        self.ensure(account_id, region)
        return self._nodes.get((account_id, region), [])

    def ec2_instance_exists(self, account_id: str, region: str, instance_id: str) -> bool:
        """Whether moto's EC2 has this instance (also those launched through the API, which SSM ignores)."""
        from moto.ec2.exceptions import InvalidInstanceIdError
        from moto.ec2.models import ec2_backends

        self.ensure(account_id, region)
        try:
            ec2_backends[account_id][region].get_instance(instance_id)
        except (InvalidInstanceIdError, KeyError):
            return False
        return True

    def kms_key_arn(self, account_id: str, region: str) -> str | None:
        """ARN of the KMS key sessions in this account and region are encrypted with, or None."""
        return self._kms_keys.get((account_id, region))


def _create_user(account_id: str, region: str, user_name: str, access_key_id: str, secret: str) -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["aws"]
    iam.create_user(region, user_name)
    key = iam.create_access_key(user_name)
    # moto draws its own key id; swap in the scenario's so the config files' keys are this user's.
    del iam.access_keys[key.physical_resource_id]
    key.access_key_id = access_key_id
    key.secret_access_key = secret
    iam.access_keys[key.physical_resource_id] = key


def _create_kms_key(account_id: str, region: str, alias: str) -> str:
    from moto.kms.models import kms_backends

    kms = kms_backends[account_id][region]
    key = kms.create_key(
        policy=None,
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        description="Session Manager encryption key (ssmux emulator)",
        tags=None,
    )
    kms.create_alias(key.id, alias)
    return str(key.arn)


def _create_instances(account_id: str, region: str, specs: list[ScenarioInstance]) -> list[Node]:
    from moto.ec2.models import ec2_backends

    ec2_specs = [spec for spec in specs if not spec.is_managed_node]
    ids = iter([spec.instance_id for spec in ec2_specs])
    created: dict[str, Any] = {}
    with _instance_ids(lambda: next(ids)):
        # Inside: a new backend's default VPC, subnets and ACLs draw their ids the fast way too.
        backend = ec2_backends[account_id][region]
        for spec in ec2_specs:
            tags = dict(spec.tags)
            if spec.name is not None:
                tags["Name"] = spec.name
            reservation = backend.run_instances(
                IMAGE_IDS[spec.platform],
                1,
                None,
                [],
                instance_type=spec.instance_type,
                # True skips moto's instance-type check (a scan of every offering, per instance).
                is_instance_type_default=True,
                region_name=region,
                tags={"instance": tags},
                # No root volume: attaching one looks the instance up by a scan of all instances (O(n^2)).
                block_device_mappings=[],
            )
            instance = reservation.instances[0]
            instance.platform = "windows" if spec.platform == "windows" else None
            instance.platform_details = "Windows" if spec.platform == "windows" else "Linux/UNIX"  # type: ignore[attr-defined]
            _set_state(instance, spec.state)
            created[spec.instance_id] = instance
    log.debug("seeded %d instances in %s/%s", len(ec2_specs), account_id, region)
    return [Node(spec, created.get(spec.instance_id)) for spec in specs]


def _set_state(instance: Any, state: str) -> None:
    if state == "running":
        return
    if state == "stopped":
        instance.stop()  # also sets the state reason AWS gives a stopped instance
        return
    from moto.ec2.models.instances import InstanceState

    instance._state = InstanceState(state, STATE_CODES[state])


#: The id supplier of the thread that is seeding, if this one is (see :func:`_instance_ids`).
_seeding_thread = threading.local()
_hooks_lock = threading.Lock()


@contextmanager
def _instance_ids(next_id: Any) -> Iterator[None]:
    """Make moto's Instance() take its id from ``next_id`` instead of drawing a random one, in this thread.

    While seeding, moto's other ids (network interfaces, reservations) come from ``secrets.token_hex``
    instead of one ``random.choice`` per character, a third of the seeding time at 20,000 instances.
    Only in this thread: hidden accounts are seeded while the API serves other calls, and an instance that
    RunInstances launches meanwhile must keep a random id.
    """
    _install_id_hooks()
    _seeding_thread.next_id = next_id
    try:
        yield
    finally:
        _seeding_thread.next_id = None


def _install_id_hooks() -> None:
    """Once per process: moto's id functions ask the seeding thread's supplier first, else draw as before."""
    from moto.ec2 import utils
    from moto.ec2.models import instances

    with _hooks_lock:
        if getattr(utils, "_ssmux_hooked", False):
            return
        original_instance_id = instances.random_instance_id  # type: ignore[attr-defined]
        original_resource_id = utils.random_resource_id

        def instance_id() -> str:
            supplier = getattr(_seeding_thread, "next_id", None)
            return str(supplier()) if supplier is not None else str(original_instance_id())

        def resource_id(size: int = 8) -> str:
            if getattr(_seeding_thread, "next_id", None) is not None:
                return _fast_resource_id(size)
            return original_resource_id(size)

        instances.random_instance_id = instance_id  # type: ignore[attr-defined]
        utils.random_resource_id = resource_id
        utils._ssmux_hooked = True  # type: ignore[attr-defined]


def _fast_resource_id(size: int = 8) -> str:
    return secrets.token_hex((size + 1) // 2)[:size]
