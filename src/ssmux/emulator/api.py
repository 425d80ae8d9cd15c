"""The emulator's HTTP front: a WSGI middleware in front of moto's server application.

For each request it finds the scenario profile from the access key in the SigV4 ``Authorization`` header,
then, in this order: waits the profile's latency, refuses the call when the throttle dice say so, refuses it
when the profile denies the action, answers the SSM session operations moto lacks (:mod:`ssm_api`), the ECS
operations moto lacks or gets wrong (:mod:`ecs_api`: ListTasks, DescribeTasks, ExecuteCommand; the other
ECS calls are moto's, once the pair's ECS is seeded) and EC2 DescribeInstances (:mod:`ec2_instances`:
paged per instance, fast at 20,000 instances), and hands everything
else to moto with the profile's account in ``x-moto-account-id``. Errors are shaped per protocol
(:mod:`wire`) so botocore and the aws CLI raise the codes AWS would.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from ssmux.emulator.ecs_api import EcsApi
from ssmux.emulator.faults import Faults
from ssmux.emulator.instance_connect import InstanceConnect
from ssmux.emulator.regions import AccountRegions
from ssmux.emulator.scenario import Scenario, ScenarioProfile
from ssmux.emulator.ssm_api import Caller, SsmApi
from ssmux.emulator.sso import IdentityCenter, SsoDirectory
from ssmux.emulator.wire import (
    ApiError,
    AwsRequest,
    StartResponse,
    error_response,
    json_response,
    read_request,
    xml_response,
)

log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class EmulatorApi:
    """WSGI application: our SSM operations and faults in front of moto.

    Args:
        moto_app: moto's all-services WSGI application.
        scenario: Profiles (access key -> account) and their fault overrides.
        ssm: Handlers of the SSM operations moto lacks.
        faults: Fault options of the command line.
        ecs: Handlers of the ECS operations moto lacks, or None (no ECS beyond moto's).
    """

    def __init__(
        self, moto_app: WsgiApp, scenario: Scenario, ssm: SsmApi, faults: Faults, ecs: EcsApi | None = None
    ) -> None:
        self.moto_app = moto_app
        self.ssm = ssm
        self.ecs = ecs
        self.faults = faults
        # Profiles and Identity Center role grants: each access key acts in its account.
        callers = scenario.callers
        self._profiles = {p.access_key_id: p for p in callers}
        self._faults = {p.name: faults.merged(p.faults) for p in callers}
        # One dice per profile, so throttling one pair does not shift the draws of another.
        self._dice = {p.name: self._faults[p.name].dice(f"api/{p.name}") for p in callers}
        self._anonymous_dice = faults.dice("api")
        self.identity = IdentityCenter(SsoDirectory.of(scenario.sso)) if scenario.sso else None
        self.regions = AccountRegions(scenario)  # account:ListRegions, ec2:DescribeRegions, disabled regions
        # EC2 Instance Connect's pushed keys, and the metadata document instances' sshd read them from.
        self.instance_connect = InstanceConnect(ssm.fleet)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        if self.identity is not None and IdentityCenter.handles(str(environ.get("PATH_INFO", ""))):
            # sso-oidc and the portal are unsigned REST calls on paths of their own (see emulator/sso.py).
            if self.faults.latency_ms:
                time.sleep(self.faults.latency_ms / 1000)
            return self.identity(environ, start_response)
        if InstanceConnect.handles(str(environ.get("PATH_INFO", ""))):  # an instance's metadata: unsigned
            return self.instance_connect.metadata(environ, start_response)
        request = AccountRegions.named(read_request(environ), str(environ.get("PATH_INFO", "")))
        profile = self._profiles.get(request.access_key_id)
        faults = self._faults[profile.name] if profile else self.faults
        dice = self._dice[profile.name] if profile else self._anonymous_dice
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        ours = request.service == "ssm" and request.action in SsmApi.OPERATIONS
        ecs = self.ecs if request.service == "ecs" else None
        ours = ours or (ecs is not None and request.action in ecs.OPERATIONS)
        try:
            if ours and profile is None:  # AWS authenticates before it throttles or authorizes
                raise ApiError(
                    "UnrecognizedClientException", "The security token included in the request is invalid."
                )
            if dice.chance(faults.throttle):
                raise _throttled(request)
            if profile is not None and profile.denies(f"{request.service}:{request.action}"):
                raise _denied(request, profile)
            answer = self.regions.answer(request, profile, environ, start_response) if profile else None
            if answer is not None:
                _log(request, profile, 200, started)
                return answer
            if profile is not None:  # a generated account's instances are put into moto on first use
                self.ssm.fleet.ensure(profile.account_id, request.region)
            if profile is not None and request.service == "ec2-instance-connect":
                connect = self.instance_connect
                body = connect.handle(request.action, profile, request.region, request.json_body())
                _log(request, profile, 200, started)
                return json_response(start_response, body)
            if profile is not None and request.service == "ec2" and request.action == "GetPasswordData":
                from ssmux.emulator.windows import get_password_data  # moto's is no encrypted password

                xml = get_password_data(self.ssm.fleet, profile.account_id, request.region, request.body,
                                        environ.get("QUERY_STRING", ""))  # fmt: skip
                _log(request, profile, 200, started)
                return xml_response(start_response, xml)
            if ecs is not None and profile is not None:
                ecs.fleet.ensure(profile.account_id, request.region)  # moto's ECS calls see it too
                if request.action in ecs.OPERATIONS:
                    caller = Caller(profile, request.region, faults)
                    body = ecs.handle(request.action, caller, request.json_body())
                    _log(request, profile, 200, started)
                    return json_response(start_response, body)
            if ours and profile is not None:
                caller = Caller(profile, request.region, faults)
                body = self.ssm.handle(request.action, caller, request.json_body())
                _log(request, profile, 200, started)
                return json_response(start_response, body)
            if profile is not None and profile.role and request.action == "GetCallerIdentity":
                _log(request, profile, 200, started)
                return xml_response(start_response, _assumed_role_identity(profile))
            if request.service == "ec2" and request.action == "DescribeInstances" and profile is not None:
                from ssmux.emulator.ec2_instances import describe_instances

                xml = describe_instances(
                    profile.account_id, request.region, request.body, environ.get("QUERY_STRING", "")
                )
                _log(request, profile, 200, started)
                return xml_response(start_response, xml)
        except ApiError as error:
            _log(request, profile, error.status, started, error.code)
            return error_response(start_response, request, error)
        except Exception:  # a bug of ours: answer like AWS's 500 and keep serving everyone else
            log.exception("%s:%s failed", request.service, request.action)
            return error_response(
                start_response, request, ApiError("InternalServerError", "internal error", 500)
            )
        if profile is not None:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = profile.account_id
        _log(request, profile, 0, started)
        return self.moto_app(environ, start_response)


def _assumed_role_identity(profile: ScenarioProfile) -> bytes:
    """GetCallerIdentity of an Identity Center role's keys: the assumed role, as AWS names it.

    moto knows no such keys (they belong to no IAM user) and would answer ``user/moto``.
    """
    import hashlib
    import uuid

    role_id = "AROA" + hashlib.sha256(profile.owner_arn.encode()).hexdigest()[:17].upper()
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>{profile.owner_arn}</Arn><UserId>{role_id}:{profile.user}</UserId>"
        f"<Account>{profile.account_id}</Account></GetCallerIdentityResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    ).encode()


def _throttled(request: AwsRequest) -> ApiError:
    if request.protocol == "ec2":
        return ApiError("RequestLimitExceeded", "Request limit exceeded.", 503)
    if request.protocol == "query":
        return ApiError("Throttling", "Rate exceeded", 400)
    return ApiError("ThrottlingException", "Rate exceeded", 400 if request.protocol == "json" else 429)


def _denied(request: AwsRequest, profile: ScenarioProfile) -> ApiError:
    action = f"{request.service}:{request.action}"
    message = (
        f"User: {profile.owner_arn} is not authorized to perform: {action} "
        f"because no identity-based policy allows the {action} action"
    )
    if request.protocol == "ec2":
        return ApiError(
            "UnauthorizedOperation", f"You are not authorized to perform this operation. {message}", 403
        )
    if request.protocol == "query":
        return ApiError("AccessDenied", message, 403)
    return ApiError("AccessDeniedException", message, 400 if request.protocol == "json" else 403)


def _log(
    request: AwsRequest, profile: ScenarioProfile | None, status: int, started: float, code: str = ""
) -> None:
    if log.isEnabledFor(logging.DEBUG):
        who = profile.name if profile else "-"
        outcome = code or (str(status) if status else "moto")
        elapsed = (time.perf_counter() - started) * 1000
        log.debug("%s %s:%s %s -> %s (%.0f ms)", who, request.service, request.action, request.region,
                  outcome, elapsed)  # fmt: skip
