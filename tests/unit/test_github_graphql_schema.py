"""Every GraphQL query the product sends is valid against GitHub's published schema.

The schema is octokit/graphql-schema's ``schema.graphql`` (tests/data/github-graphql-schema,
with its licence and commit); the only queries the product sends are the bot's, built by
``smithy.bot.github_view.batch_query`` and ``version_pulls_query``, and the auto-merge
mutation (``smithy.github.automerge.MUTATION``). GitHub's own rules beyond the schema ("Rate limits and
query limits for the GraphQL API", *Node limit*): every connection takes ``first`` or ``last``,
from 1 to 100, and a query asks for at most 500,000 nodes.
"""

from __future__ import annotations

import gzip
import re
from functools import cache

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    IntValueNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    get_named_type,
    parse,
    validate,
    validate_schema,
    visit,
)

from smithy.bot.github_view import BATCH, batch_query, version_pulls_query
from smithy.github.automerge import MUTATION
from tests.conftest import DATA

SCHEMA = DATA / "github-graphql-schema" / "schema.graphql.gz"
FLAW = re.compile(
    r"Interface field \S+ is not deprecated, so implementation field (\S+) must not be deprecated\."
)
ORG = "pyodide-feedstocks"
BRANCHES = ["pyodide-smithy/xbuildenv-314.0.5", "pyodide-smithy/xbuildenv-315.0.0a2"]
# Names as GitHub allows them (letters, digits, "-", "_", "."), and the most the bot sends.
NAMES = [f"pkg{i}-feedstock" for i in range(BATCH - 3)] + ["a.b", "x_y-feedstock", "-"]


@cache
def schema() -> GraphQLSchema:
    """The schema as published, taken as valid: graphql-core 3.3 finds two fields of
    ``EnterpriseOwnerInfo`` defined twice and 12 deprecated fields implementing interface
    fields that are not (``TeamDiscussion``'s); nothing the bot asks for is among them
    (``test_githubs_schema_has_only_the_known_flaws``)."""
    text = gzip.decompress(SCHEMA.read_bytes()).decode()
    return build_schema(text, assume_valid_sdl=True, assume_valid=True)


def queries() -> list[str]:
    """The queries the bot sends: a full batch, a batch halved down to one repository, and
    the one-branch form (a stable target with no newer pre-release); ``bot versions``' reads of
    version pull requests."""
    return [
        batch_query(ORG, NAMES, BRANCHES),
        batch_query(ORG, NAMES[:1], BRANCHES),
        batch_query(ORG, NAMES[:7], BRANCHES[:1]),
        batch_query(ORG, NAMES[:2], []),
        version_pulls_query(ORG, {n: f"pyodide-smithy/version-1.{i}" for i, n in enumerate(NAMES)}),
        version_pulls_query(ORG, {"a-feedstock": None, "b-feedstock": "pyodide-smithy/version-2"}),
    ]


def connections(document: DocumentNode) -> list[tuple[str, dict[str, int]]]:
    """Each field of a ``…Connection`` type in ``document``: its name and integer arguments."""
    info = TypeInfo(schema())
    found: list[tuple[str, dict[str, int]]] = []

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            kind = info.get_type()
            if kind is not None and get_named_type(kind).name.endswith("Connection"):
                ints = {
                    a.name.value: int(a.value.value)
                    for a in node.arguments or ()
                    if isinstance(a.value, IntValueNode)
                }
                found.append((node.name.value, ints))

    visit(document, TypeInfoVisitor(info, Collect()))
    return found


@pytest.mark.parametrize(
    "query",
    [*queries(), MUTATION],
    ids=["full", "one", "one-branch", "no-branch", "versions", "versions-mixed", "automerge"],
)
def test_the_bots_query_validates_against_githubs_schema(query: str) -> None:
    assert validate(schema(), parse(query)) == []


def test_every_connection_asks_for_1_to_100_nodes() -> None:
    found = connections(parse(queries()[0]))
    assert {name for name, _ in found} == {"pullRequests", "labels", "commits"}
    for name, ints in found:
        counts = [ints[k] for k in ("first", "last") if k in ints]
        assert len(counts) == 1, name
        assert 1 <= counts[0] <= 100, name


def test_a_full_batch_stays_under_githubs_node_limit() -> None:
    """Nodes as GitHub counts them: each connection's first/last times its parents'."""
    per_pull = 20 + 10  # labels(first: 20), commits(last: 10)
    pulls = 3  # pullRequests(last: 3)
    nodes = BATCH * len(BRANCHES) * (pulls + pulls * per_pull)
    assert nodes <= 500_000
    sizes = {name: max(ints.values()) for name, ints in connections(parse(queries()[0]))}
    assert sizes == {"pullRequests": pulls, "labels": 20, "commits": 10}


def test_githubs_schema_has_only_the_known_flaws() -> None:
    """What graphql-core refuses in the published schema is deprecated fields implementing
    interface fields that are not (``PullRequest.databaseId`` among them): none the bot asks."""
    text = gzip.decompress(SCHEMA.read_bytes()).decode()
    errors = validate_schema(build_schema(text, assume_valid_sdl=True))
    flawed = set()
    for error in errors:
        found = FLAW.fullmatch(error.message)
        assert found is not None, error.message
        flawed.add(found[1])
    asked = {f"PullRequest.{f}" for f in ("number", "state", "url", "headRefOid", "labels")}
    assert len(flawed) == 12
    assert not flawed & asked


def test_the_schema_catches_a_field_github_does_not_have() -> None:
    """The check can fail: a misspelt field (``headRefSha`` for ``headRefOid``) is refused."""
    wrong = batch_query(ORG, NAMES[:1], BRANCHES[:1]).replace("headRefOid", "headRefSha")
    (error,) = validate(schema(), parse(wrong))
    assert error.message.startswith("Cannot query field 'headRefSha' on type 'PullRequest'.")
