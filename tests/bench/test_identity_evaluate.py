"""Scoring against ground truth when the generator splits a human's unlinkable accounts into parts (`P1-1`)."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.identity_evaluate import evaluate


def test_human_recall_counts_pairs_across_unlinkable_parts():
    truth = pd.DataFrame(
        {
            "id_type": ["phone", "app_user_id", "douyin_open_id", "phone"],
            "id_value": ["+861", "U1", "D1", "+862"],
            "person_id": ["P1", "P1", "P1-1", "P2"],  # D1 is P1's, but no record links it to the others
            "persons": [1, 1, 1, 1],
        }
    )
    identity_map = pd.DataFrame(
        {"id_type": ["phone", "app_user_id", "douyin_open_id", "phone"], "id_value": ["+861", "U1", "D1", "+862"],
         "one_id": [1, 1, 2, 3]}
    )  # fmt: skip
    scores = evaluate(truth, identity_map)
    assert scores.recall == 1.0  # every pair the truth says is linkable is joined
    assert scores.human_recall == pytest.approx(1 / 3)  # of P1's three pairs, only (+861, U1) is joined
    assert scores.precision == 1.0
    assert "recall of whole humans 0.3333" in scores.describe()
