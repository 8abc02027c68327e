"""``register-github``: the feedstock as ``ORG/<name>-feedstock`` on GitHub, ready for CI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register_github(
    feedstock: Annotated[
        Path, typer.Argument(help="The feedstock directory (default: the current one).")
    ] = Path(),
    *,
    org: Annotated[
        str, typer.Option("--org", help="The GitHub organization that gets the repository.")
    ],
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--upload-token-file",
            help="Read the Anaconda token CI uploads with here instead of $ANACONDA_API_TOKEN; "
            "it is stored as the repository's ANACONDA_API_TOKEN Actions secret.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create ORG/<name>-feedstock, push the feedstock, protect main and set the upload secret.

    GitHub credentials: $GITHUB_TOKEN, else a GitHub App installation
    ($PYODIDE_SMITHY_GITHUB_APP_ID, $PYODIDE_SMITHY_GITHUB_APP_KEY (a PEM file),
    $PYODIDE_SMITHY_GITHUB_INSTALLATION_ID). Tokens are never printed. They need: an App or a
    fine-grained token, Administration, Contents and Workflows write (and Secrets write with an
    upload token); a classic token, the repo and workflow scopes and admin on the repository.
    What GitHub tells is checked before anything is made.
    """
    from smithy import console
    from smithy.channel.open import TOKEN_ENV, read_token
    from smithy.errors import UsageError
    from smithy.feedstock.state import check_feedstock
    from smithy.github.register import SECRET_NAME, run_register

    if not org.strip():
        raise UsageError("pass the organization with --org", key="--org")
    check_feedstock(feedstock.absolute())  # before warning about what it would be given
    upload_token = read_token(token_file)
    if upload_token is None:
        console.warn(
            f"no upload token (--upload-token-file or ${TOKEN_ENV}): the repository gets no "
            f"{SECRET_NAME} secret, so CI cannot upload until one is set"
        )
    result = run_register(feedstock, org=org.strip(), secret_token=upload_token)
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
        return
    done = "created" if result.created else "found"
    pushed = f"pushed {result.sha[:12]}" if result.pushed else f"already at {result.sha[:12]}"
    print(f"{done} {result.repo} ({result.html_url}); {pushed}")
    checks = ", ".join(result.status_checks)
    print(f"protected {result.protected_branch}: checks {checks}, 1 approval, no force pushes")
    if result.secret_set:
        print(f"set the {SECRET_NAME} secret")
