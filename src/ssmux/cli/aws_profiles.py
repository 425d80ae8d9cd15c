"""``ssmux aws-profiles``: the AWS CLI profiles found in the AWS config and credentials files."""

from __future__ import annotations

import click

from ssmux.cli.output import print_json, print_lines, print_text_table


@click.command("aws-profiles")
@click.option("--json", "as_json", is_flag=True, help="Print JSON with stable field names.")
def aws_profiles(as_json: bool) -> None:
    """List AWS CLI profiles with their region and kind of credentials (never the credentials)."""
    from ssmux.core.awsconfig import list_aws_profiles  # imports botocore: only for this command

    found = list_aws_profiles()
    if as_json:
        print_json([p.to_dict() for p in found])
        return
    if not found:
        print_lines(["no AWS CLI profiles found: create one with 'aws configure' or 'aws configure sso'"])
        return
    rows = [[p.name, p.kind, p.region or "-", p.source] for p in found]
    print_text_table(["NAME", "KIND", "REGION", "FILE"], rows)
