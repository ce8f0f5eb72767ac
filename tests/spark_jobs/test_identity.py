"""OneID resolution algorithm (spark_jobs/identity/) on tiny inline DataFrames and a local Spark session."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from pyspark.testing import assertDataFrameEqual

from bench.identity_evaluate import evaluate, pairwise_counts
from nightshift.identity.config import IdentityConfig
from spark_jobs.identity import LOCAL_FINISH_EDGES, assign_one_ids, connected_components, resolve_components, sized_for

NODE_SCHEMA = "id_type string, id_value string"
EDGE_SCHEMA = "src_type string, src_value string, dst_type string, dst_value string"
COMPONENT_SCHEMA = "id_type string, id_value string, component long"
PREVIOUS_SCHEMA = "id_type string, id_value string, one_id long"


@pytest.fixture(scope="module")
def spark(spark):
    """The session's Spark, sized for tiny inputs as `run_job` sizes it (one shuffle partition, AQE off)."""
    with sized_for(spark, edges=0):
        yield spark


def union_find_labels(pairs: list[tuple[int, int]]) -> dict[int, int]:
    """Reference answer: node -> smallest node of its component."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return {x: find(x) for x in parent}


def adversarial_graph() -> list[tuple[int, int]]:
    """Shapes that break naive label propagation, all in one graph so one Spark run covers them."""
    path_ascending = [(i, i + 1) for i in range(1000)]  # a hook chain 1000 deep for min-label hooking
    star_max_centre = [(30_000, leaf) for leaf in range(20_000, 20_500)]  # centre is the LARGEST id
    cycle = [(40_000 + i, 40_000 + (i + 1) % 300) for i in range(300)]
    disjoint = [(50_000, 50_001), (50_003, 50_002), (50_004, 50_004), (50_002, 50_003)]  # self loop, duplicate
    return path_ascending + star_max_centre + cycle + disjoint


# How many links are left to the driver: none (every step in Spark), some (Spark steps, then the driver
# finishes), all (the whole graph labelled on the driver, as small inputs are by default).
FINISH_ON_DRIVER = pytest.mark.parametrize(
    "local_finish_edges", [0, 100, LOCAL_FINISH_EDGES], ids=["spark-only", "spark-then-driver", "driver"]
)


@pytest.mark.parametrize("local_finish_edges", [0, LOCAL_FINISH_EDGES], ids=["spark-only", "driver"])
def test_connected_components_converge_on_adversarial_shapes(spark, local_finish_edges):
    pairs = adversarial_graph()
    edges = spark.createDataFrame(pairs, "src long, dst long")
    labels = {
        row.node: row.component for row in connected_components(edges, local_finish_edges=local_finish_edges).collect()
    }
    assert labels == union_find_labels(pairs)
    assert len(set(labels.values())) == 1 + 1 + 1 + 3  # path, star, cycle, three disjoint pieces


@FINISH_ON_DRIVER
def test_connected_components_match_union_find_on_random_graphs(spark, local_finish_edges):
    """Random trees, paths and extra links over a shuffled id space: pendants are set aside over several
    star rounds and resolved back in order, and duplicated links must not duplicate nodes."""
    rng = random.Random(7)
    ids = rng.sample(range(1, 10**9), 3000)
    pairs = [(ids[i], ids[rng.randrange(i)]) for i in range(1, 1500)]  # one random tree
    pairs += [(ids[i], ids[i + 1]) for i in range(1500, 2200)]  # a long path in random id order
    pairs += [(ids[rng.randrange(2200, 3000)], ids[rng.randrange(2200, 3000)]) for _ in range(600)]
    pairs += pairs[:200]  # duplicates
    edges = spark.createDataFrame(pairs, "src long, dst long")
    rows = connected_components(edges, local_finish_edges=local_finish_edges).collect()
    assert len(rows) == len({row.node for row in rows})
    assert {row.node: row.component for row in rows} == union_find_labels(pairs)


def test_connected_components_of_no_edges_is_empty(spark):
    edges = spark.createDataFrame([], "src long, dst long")
    assert connected_components(edges).count() == 0


def groups(components) -> set[frozenset[str]]:
    """Components as sets of 'type:value', independent of the (hash-valued) component labels."""
    by_component: dict[int, set[str]] = {}
    for row in components.collect():
        by_component.setdefault(row.component, set()).add(f"{row.id_type}:{row.id_value}")
    return {frozenset(members) for members in by_component.values()}


def test_records_with_one_id_are_people_and_blocklisted_ids_link_nobody(spark):
    nodes = spark.createDataFrame(
        [
            ("app_user_id", "U1"),
            ("phone", "+8613911112222"),
            ("app_user_id", "U2"),
            ("device_id", "0000"),
            ("app_user_id", "U3"),
            ("wechat_oa_openid", "oLONELY"),
        ],
        NODE_SCHEMA,
    )
    edges = spark.createDataFrame(
        [
            ("app_user_id", "U1", "phone", "+8613911112222"),
            ("app_user_id", "U2", "device_id", "0000"),
            ("app_user_id", "U3", "device_id", "0000"),
        ],
        EDGE_SCHEMA,
    )
    rules = IdentityConfig(blocked_values={"device_id": ("0000",)})
    resolution = resolve_components(nodes, edges, rules)
    assert groups(resolution.components) == {
        frozenset({"app_user_id:U1", "phone:+8613911112222"}),
        frozenset({"app_user_id:U2"}),  # the placeholder device would have glued U2 and U3
        frozenset({"app_user_id:U3"}),
        frozenset({"wechat_oa_openid:oLONELY"}),
    }
    expected_blocked = spark.createDataFrame(
        [("device_id", "0000", "blocklist", None, None)],
        "id_type string, id_value string, reason string, degree long, component_size long",
    )
    assertDataFrameEqual(resolution.blocked, expected_blocked)


def test_a_shared_hub_cannot_glue_an_oversize_component(spark):
    # One test phone on six accounts: each account with its own device. Max size 4 -> the phone is cut.
    accounts = [f"U{i}" for i in range(6)]
    nodes = spark.createDataFrame(
        [("phone", "+8613000000001")]
        + [("app_user_id", a) for a in accounts]
        + [("device_id", f"D{a}") for a in accounts],
        NODE_SCHEMA,
    )
    edges = spark.createDataFrame(
        [("app_user_id", a, "phone", "+8613000000001") for a in accounts]
        + [("app_user_id", a, "device_id", f"D{a}") for a in accounts],
        EDGE_SCHEMA,
    )
    resolution = resolve_components(nodes, edges, IdentityConfig(max_component_size=4, hub_min_degree=5))
    assert groups(resolution.components) == {frozenset({"phone:+8613000000001"})} | {
        frozenset({f"app_user_id:{a}", f"device_id:D{a}"}) for a in accounts
    }
    blocked = [row.asDict() for row in resolution.blocked.collect()]
    assert blocked == [
        {"id_type": "phone", "id_value": "+8613000000001", "reason": "hub", "degree": 6, "component_size": 13}
    ]


def test_what_stays_oversize_after_cutting_hubs_is_left_unmerged(spark):
    # A 6-clique has no hub to cut: every id links all others. One round cuts the best-linked id, the rest
    # (5 ids) is still above the limit of 3 and stays unmerged.
    members = [f"D{i}" for i in range(6)]
    nodes = spark.createDataFrame([("device_id", m) for m in members], NODE_SCHEMA)
    edges = spark.createDataFrame(
        [("device_id", a, "device_id", b) for a in members for b in members if a < b], EDGE_SCHEMA
    )
    rules = IdentityConfig(max_component_size=3, hub_min_degree=50, max_hub_rounds=1)
    resolution = resolve_components(nodes, edges, rules)
    assert groups(resolution.components) == {frozenset({f"device_id:{m}"}) for m in members}
    reasons = sorted(row.reason for row in resolution.blocked.collect())
    assert reasons == ["hub"] + ["oversize_component"] * 5


def test_one_ids_survive_merges_and_splits_are_recorded(spark):
    previous = spark.createDataFrame(
        [("t", "a", 1), ("t", "b", 1), ("t", "c", 2), ("t", "d", 3), ("t", "e", 3), ("t", "f", 3), ("t", "x", 7)],
        PREVIOUS_SCHEMA,
    )
    components = spark.createDataFrame(
        [
            ("t", "a", 100),
            ("t", "b", 100),
            ("t", "c", 100),
            ("t", "new1", 100),  # person 1 absorbs person 2
            ("t", "d", 200),
            ("t", "e", 200),  # person 3 keeps its id on the larger part...
            ("t", "f", 300),  # ...and this part is split off
            ("t", "z", 400),
            ("t", "y", 500),  # newcomers, numbered after the largest id ever issued
        ],
        COMPONENT_SCHEMA,
    )
    assignment = assign_one_ids(components, previous, max_issued_one_id=9)
    expected_ids = spark.createDataFrame(
        [
            ("t", "a", 1),
            ("t", "b", 1),
            ("t", "c", 1),
            ("t", "new1", 1),
            ("t", "d", 3),
            ("t", "e", 3),
            ("t", "f", 10),
            ("t", "y", 11),
            ("t", "z", 12),
        ],
        PREVIOUS_SCHEMA,
    )
    assertDataFrameEqual(assignment.identities, expected_ids)
    assertDataFrameEqual(
        assignment.merges,
        spark.createDataFrame([(1, 2, 1)], "surviving_one_id long, merged_one_id long, merged_ids long"),
    )
    assertDataFrameEqual(
        assignment.splits,
        spark.createDataFrame([(3, 10, 1)], "original_one_id long, new_one_id long, moved_ids long"),
    )


def test_a_tied_split_keeps_the_id_on_the_part_with_the_smallest_id(spark):
    previous = spark.createDataFrame([("t", "b", 5), ("t", "a", 5)], PREVIOUS_SCHEMA)
    components = spark.createDataFrame([("t", "b", 1), ("t", "a", 2)], COMPONENT_SCHEMA)
    assignment = assign_one_ids(components, previous, max_issued_one_id=5)
    assert {row.id_value: row.one_id for row in assignment.identities.collect()} == {"a": 5, "b": 6}
    assert [tuple(row) for row in assignment.splits.collect()] == [(5, 6, 1)]


@pytest.mark.parametrize(
    ("predicted", "actual", "expected"),
    [
        ([1, 1, 2, 2], [7, 7, 8, 8], (2, 2, 2)),  # perfect
        ([1, 1, 1, 1], [7, 7, 8, 8], (2, 6, 2)),  # everything merged: precision 1/3
        ([1, 2, 3, 4], [7, 7, 8, 8], (0, 0, 2)),  # nothing merged: recall 0
    ],
)
def test_pairwise_counts_come_from_cluster_sizes(predicted, actual, expected):
    assert pairwise_counts(pd.DataFrame({"predicted": predicted, "actual": actual})) == expected


def test_evaluation_scores_ids_present_in_both_truth_and_map():
    truth = pd.DataFrame(
        {
            "id_type": ["phone", "phone", "app_user_id", "app_user_id", "device_id"],
            "id_value": ["+861", "+862", "U1", "U2", "D9"],
            "person_id": [1, 2, 1, 2, 3],
            "persons": [1, 2, 1, 1, 1],
        }
    )
    identity_map = pd.DataFrame(
        {
            "id_type": ["phone", "phone", "app_user_id", "app_user_id", "device_id"],
            "id_value": ["+861", "+862", "U1", "U2", "D0"],
            "one_id": [10, 10, 10, 11, 12],
        }
    )
    scores = evaluate(truth, identity_map)
    assert (scores.correct_pairs, scores.predicted_pairs, scores.true_pairs) == (1, 3, 2)
    assert (scores.ids_evaluated, scores.ids_only_in_truth, scores.ids_only_in_map, scores.ambiguous_ids) == (
        4,
        1,
        1,
        1,
    )
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == pytest.approx(1 / 2)


def test_an_identifier_given_twice_in_the_node_input_fails_with_what_to_fix(spark):
    # The stage's node extraction groups by identifier; a hand-made input that repeats one would otherwise give
    # that identifier two rows in the map.
    nodes = spark.createDataFrame([("phone", "+8613000000001"), ("phone", "+8613000000001")], NODE_SCHEMA)
    edges = spark.createDataFrame([], EDGE_SCHEMA)
    with pytest.raises(RuntimeError, match=r"\+8613000000001.*holds it twice: give each identifier one row"):
        resolve_components(nodes, edges, IdentityConfig())
