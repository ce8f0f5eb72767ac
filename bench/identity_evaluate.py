"""Quality of the identity map against the generator's ground truth: pairwise precision and recall.

Items are the identifiers present in both the truth (`<landing>/_truth/identities.csv`) and the map. A pair of
items is "same person" in the truth when they share a person_id and predicted when they share a one_id.
Pairs are counted per cluster, never enumerated: with n_ij items in predicted cluster i and true cluster j,
true positives are sum C(n_ij, 2), predicted pairs sum_i C(a_i, 2), true pairs sum_j C(b_j, 2).
Shared phones legitimately belong to several persons in the truth; such an id is labelled with its smallest
person_id (the standard single-label convention) and counted in `ambiguous_ids`.

The truth groups every id of a person, including ids no record ever links (a follower's openid and the same
person's app account, with nothing in between). `linkable_recall` scores against the truth split into the
groups the delivered records can connect at all (same-person links only), i.e. the recall a perfect resolver
could reach on this data.

The generator labels the accounts of one human that no delivered record links as separate persons
(`P12-1` beside `P12`), because no resolver could join them. `human_recall` scores against the humans
themselves (suffix stripped): the share of same-human pairs joined, linkable or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TRUTH_COLUMNS = ["person_id", "source", "id_type", "id_value"]


@dataclass(frozen=True)
class Evaluation:
    precision: float
    recall: float
    ids_evaluated: int
    ids_only_in_truth: int
    ids_only_in_map: int
    ambiguous_ids: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    linkable_recall: float | None = None
    human_recall: float | None = None

    def describe(self) -> str:
        linkable = f" (linkable recall {self.linkable_recall:.4f})" if self.linkable_recall is not None else ""
        human = f", recall of whole humans {self.human_recall:.4f}" if self.human_recall is not None else ""
        return (
            f"pairwise precision {self.precision:.4f}, recall {self.recall:.4f}{linkable}{human} "
            f"over {self.ids_evaluated} ids "
            f"({self.ambiguous_ids} shared by several persons; {self.ids_only_in_truth} only in truth, "
            f"{self.ids_only_in_map} only in the map)"
        )


def _pairs(sizes: pd.Series) -> int:
    sizes = sizes.astype("int64")
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_counts(labels: pd.DataFrame) -> tuple[int, int, int]:
    """(correct, predicted, true) pair counts from a frame with columns `predicted` and `actual`."""
    correct = _pairs(labels.groupby(["predicted", "actual"], sort=False).size())
    predicted = _pairs(labels.groupby("predicted", sort=False).size())
    actual = _pairs(labels.groupby("actual", sort=False).size())
    return correct, predicted, actual


def load_truth(truth_csv: Path) -> pd.DataFrame:
    """id_type, id_value, person_id (smallest person per id), persons (how many persons share the id)."""
    try:
        truth = pd.read_csv(truth_csv, dtype=str, keep_default_na=False, usecols=TRUTH_COLUMNS)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Ground truth {truth_csv} does not exist; generate a world first (nightshift generate)"
        ) from None
    except ValueError as error:
        raise ValueError(f"{truth_csv}: expected columns {TRUTH_COLUMNS}: {error}") from None
    return (
        truth.groupby(["id_type", "id_value"], sort=False)["person_id"]
        .agg(person_id="min", persons="nunique")
        .reset_index()
    )


def linkable_groups(truth: pd.DataFrame, edges: pd.DataFrame) -> pd.Series:
    """Per truth row, a label of the group of the person's ids that same-person record links connect."""
    key = truth["id_type"] + "\x1f" + truth["id_value"]
    person = dict(zip(key, truth["person_id"], strict=True))
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    sources = edges["src_type"] + "\x1f" + edges["src_value"]
    targets = edges["dst_type"] + "\x1f" + edges["dst_value"]
    for a, b in zip(sources, targets, strict=True):
        if a in person and person[a] == person.get(b):
            root_a, root_b = find(a), find(b)
            if root_a != root_b:
                parent[root_b] = root_a
    return pd.Series([find(k) for k in key], index=truth.index)


def evaluate(truth: pd.DataFrame, identity_map: pd.DataFrame, edges: pd.DataFrame | None = None) -> Evaluation:
    """Scores of `identity_map` (id_type, id_value, one_id) against `load_truth` output; with the graph's
    `edges` (src_type, src_value, dst_type, dst_value) also the linkable recall."""
    if edges is not None:
        truth = truth.assign(linkable=linkable_groups(truth, edges))
    joined = truth.merge(
        identity_map[["id_type", "id_value", "one_id"]], on=["id_type", "id_value"], how="outer", indicator=True
    )
    both = joined[joined["_merge"] == "both"]
    labels = pd.DataFrame({"predicted": both["one_id"].astype("int64"), "actual": both["person_id"]})
    correct, predicted, actual = pairwise_counts(labels)
    humans = labels.assign(actual=labels["actual"].astype(str).str.replace(r"-\d+$", "", regex=True))
    human_correct, _, human_actual = pairwise_counts(humans)
    linkable_recall = None
    if edges is not None:
        linkable = pd.DataFrame({"predicted": labels["predicted"], "actual": both["linkable"]})
        linkable_correct, _, linkable_actual = pairwise_counts(linkable)
        linkable_recall = linkable_correct / linkable_actual if linkable_actual else 1.0
    return Evaluation(
        precision=correct / predicted if predicted else 1.0,
        recall=correct / actual if actual else 1.0,
        ids_evaluated=len(both),
        ids_only_in_truth=int((joined["_merge"] == "left_only").sum()),
        ids_only_in_map=int((joined["_merge"] == "right_only").sum()),
        ambiguous_ids=int((both["persons"] > 1).sum()),
        true_pairs=actual,
        predicted_pairs=predicted,
        correct_pairs=correct,
        linkable_recall=linkable_recall,
        human_recall=human_correct / human_actual if human_actual else 1.0,
    )


def evaluate_warehouse(client, truth_csv: Path, edges_parquet: str | None = None) -> Evaluation:
    """Scores of the current `identity.identity_map` against the truth file (and the lake's identity edges)."""
    identity_map = client.query_df("SELECT id_type, id_value, one_id FROM identity.identity_map")
    edges = pd.read_parquet(edges_parquet) if edges_parquet else None
    return evaluate(load_truth(truth_csv), identity_map, edges)
