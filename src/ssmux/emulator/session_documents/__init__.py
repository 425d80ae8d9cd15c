"""The content of the Session documents AWS provides, as ``<name>.json`` files (read by :mod:`..documents`).

Each file is the document's content as ``GetDocument`` returns it (JSON, ``schemaVersion`` 1.0). Where each
came from:

``SSM-SessionManagerRunShell``
    The Session Manager preferences document with the console's defaults: AWS's "Create a Session Manager
    preferences document (command line)" page (awsdocs/aws-systems-manager-user-guide,
    ``doc_source/getting-started-create-preferences-cli.md``), its first example with the sample
    ``shellProfile`` commands emptied; the inputs are those of the "Session document schema" page
    (``session-manager-schema.md``). It belongs to the account, not to Amazon: an account has it once its
    preferences were saved, and ``CreateDocument``/``UpdateDocument`` of that name replace it.
``AWS-StartSSHSession``
    ``aws ssm describe-document --name AWS-StartSSHSession`` as quoted in public notes (owner Amazon, version
    1, created 2019-06-13, one parameter ``portNumber`` "(Optional) Port number of SSH server on the
    instance", default ``22``, no description); the port pattern is the one public copies of it carry.
``AWS-StartPortForwardingSession``
    Its ``portNumber`` parameter as quoted ("AWS-StartPortForwardingSession content") in public write-ups;
    ``localPortNumber``, the ``properties`` block and the description as in the many public copies "of
    AWS-StartPortForwardingSession but with restricted ports"; the properties are those the agent reads
    (amazon-ssm-agent ``agent/session/plugins/port/port.go``: ``portNumber``, ``type``).
``AWS-StartPortForwardingSessionToRemoteHost``
    The same, plus the required ``host`` with the pattern public copies of it carry; the agent dials
    ``properties.host`` (``port.go``).
``AWS-StartInteractiveCommand``
    The ``InteractiveCommands`` example of the "Session document schema" page with AWS's one ``command``
    parameter; ``properties.<os>.commands`` is what the agent runs (``agent/session/contracts/model.go``
    ``ShellConfig``, ``agent/session/shell/shell_unix.go`` ``StartCommandExecutor``).
``AWS-StartNonInteractiveCommand``
    The recent version, with ``separateOutputStream`` (allowed ``true``/``false``, default ``false``) and the
    two separator prefixes: ``command``, ``separateOutputStream`` and the stdout prefix's description as
    AWS publishes them (quoted in public code), the stderr prefix by symmetry (default ``""``: no prefix);
    its properties are the ``ShellConfig`` fields the agent reads (``separateOutputStream``,
    ``stdOutSeparatorPrefix``, ``stdErrSeparatorPrefix``).
    Older versions of this document have only ``command``; a test creates one with ``CreateDocument``.

Descriptions not seen in AWS's own words are the nearest public copy's.
"""
