"""``ssmux emulator``: run the local stand-in for AWS until Ctrl-C / SIGTERM.

It prints one JSON line on stdout when ready (endpoint and the two AWS config files to point clients at),
then logs to stderr only. Fault options make it a flaky AWS for tests and benchmarks, repeatably (``--seed``).
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("emulator")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (loopback unless --allow-remote).",
)
@click.option("--allow-remote", is_flag=True, help="Allow a --host other machines can reach (no auth!).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="API port; 0 picks one."
)
@click.option(
    "--scenario",
    default="demo",
    show_default=True,
    metavar="demo|organization|FILE",
    help="Accounts and instances.",
)
@click.option(
    "--aws-config-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the AWS config and credentials files here (default: a temporary folder).",
)
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Added to every API call.")
@click.option(
    "--throttle", type=click.FloatRange(0, 1), default=0.0, help="Probability an API call is throttled."
)
@click.option("--drop-after", type=click.IntRange(min=1), help="Drop a websocket after N data frames.")
@click.option("--loss", type=click.FloatRange(0, 1), default=0.0, help="Probability a data frame is lost.")
@click.option(
    "--duplicate", type=click.FloatRange(0, 1), default=0.0, help="Probability a data frame is doubled."
)
@click.option(
    "--reorder", type=click.FloatRange(0, 1), default=0.0, help="Probability a data frame is held back."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every fault decision.")
@click.option(
    "--fast",
    is_flag=True,
    help="Drop the agent's pacing (1 s before a shell's first output, 1 KiB reads 1 ms apart): quick tests.",
)
@click.option(
    "--channel-lifetime",
    type=click.FloatRange(min=0, min_open=True),
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="Drop each data channel after this long, as AWS does hourly (clients resume).",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=1200.0,
    show_default=True,
    metavar="SECONDS",
    help="Terminate a session after this long without input from its client (AWS's default: 20 min).",
)
@click.option(
    "--presigned-urls",
    is_flag=True,
    help="StartSession gives presigned StreamUrls (dialled as given, not resumed) instead of signed dials.",
)
@click.option(
    "--exit-on-stdin-eof",
    is_flag=True,
    help="Stop when stdin ends: for a parent that pipes stdin and may die without stopping the emulator.",
)
@click.option(
    "--remove-on-exit",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Remove this folder (the parent's temporary one) once stopped.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every API call to stderr.")
def emulator(
    host: str,
    allow_remote: bool,
    port: int,
    scenario: str,
    aws_config_dir: Path | None,
    latency_ms: int,
    throttle: float,
    drop_after: int | None,
    loss: float,
    duplicate: float,
    reorder: float,
    seed: int,
    fast: bool,
    channel_lifetime: float,
    idle_timeout: float,
    presigned_urls: bool,
    exit_on_stdin_eof: bool,
    remove_on_exit: Path | None,
    verbose: bool,
) -> None:
    """Serve EC2, STS, KMS, ECS (moto), SSM sessions and ECS Exec with real shells, on 127.0.0.1.

    Each profile of the scenario is its own account. Point boto3, the aws CLI or ssmux at it with the
    AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE the ready line names.
    """
    import logging

    from ssmux.emulator.app import EmulatorOptions, check_host, run
    from ssmux.emulator.faults import Faults

    check_host(host, allow_remote)  # before anything slow, so a refused host fails at once
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # moto and werkzeug are chatty at INFO; their warnings still show.
        for name in ("moto", "werkzeug", "botocore", "websockets"):
            logging.getLogger(name).setLevel(logging.WARNING)
    faults = Faults(
        latency_ms=latency_ms,
        throttle=throttle,
        drop_after=drop_after,
        loss=loss,
        duplicate=duplicate,
        reorder=reorder,
        seed=seed,
    )
    options = EmulatorOptions(
        host=host,
        port=port,
        scenario=scenario,
        aws_config_dir=aws_config_dir,
        faults=faults,
        allow_remote=allow_remote,
        fast=fast,
        channel_lifetime=channel_lifetime,
        idle_timeout=idle_timeout,
        presigned_urls=presigned_urls,
        exit_on_stdin_eof=exit_on_stdin_eof,
        remove_on_exit=remove_on_exit,
    )
    run(options)
