"""Sync: every EC2 instance and SSM managed node of the user's (AWS CLI profile, region) pairs, cached.

The package holds the whole path from AWS to what ``ssmux ls``, the picker and the GUI list:

- :mod:`~ssmux.sync.instance`: a synced instance and its columns, declared once (the readers, the cache's
  table and the ``ls`` table are built from them);
- :mod:`~ssmux.sync.ec2` and :mod:`~ssmux.sync.ssm`: lean readers of the EC2 and SSM listing responses;
- :mod:`~ssmux.sync.pair`: one pair listed (EC2 and SSM side by side, one pagination loop) and joined;
- :mod:`~ssmux.sync.engine`: many pairs at once, each written to the cache as it finishes;
- :mod:`~ssmux.sync.inventory`: the SQLite cache of the last good sync of every pair;
- :mod:`~ssmux.sync.targets`: saved profiles and cached instances merged, searched and found.

It builds on :mod:`ssmux.core` (settings, the boto3 edge in :mod:`ssmux.core.aws`) and :mod:`ssmux.errors`;
core never imports it. Reading the cache (``ls``, the picker) never imports boto3: only the readers and the
pair listing do, inside the functions that call AWS. This ``__init__`` imports nothing.
"""
