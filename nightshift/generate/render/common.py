"""Shared pieces of the source writers: the render context, column shorthands, cross-source id spellings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from nightshift.generate.activity import Day, DayFacts
from nightshift.generate.ids import numbered, rng_for
from nightshift.generate.pools import Pools
from nightshift.generate.population import Population
from nightshift.generate.table import Column

CAMPAIGNS = ("CMP202311A", "CMP202311B", "CMP_NEWUSER", "CMP_WINBACK", "CMP_SELFCLAIM")
BENEFITS = ("BNF_FULL100_10", "BNF_FULL300_30", "BNF_NEW_50", "BNF_BACK_20", "BNF_CLAIM_5")


@dataclass
class RenderContext:
    pop: Population
    pools: Pools
    facts: DayFacts
    seed: int

    @property
    def day(self) -> Day:
        return self.facts.day

    def rng(self, source: str) -> np.random.Generator:
        return rng_for(self.seed, "render", source, self.day.stamp)


def s(values: np.ndarray | pa.Array, valid: np.ndarray | None = None, owner: np.ndarray | None = None) -> Column:
    return Column(values, "str", valid=valid, owner=owner)


def i(values: np.ndarray, valid: np.ndarray | None = None) -> Column:
    return Column(np.asarray(values, dtype=np.int64), "int", valid=valid)


def b(values: np.ndarray, valid: np.ndarray | None = None) -> Column:
    return Column(np.asarray(values, dtype=bool), "bool", valid=valid)


def iso(seconds: np.ndarray, valid: np.ndarray | None = None) -> Column:
    return Column(np.asarray(seconds, dtype=np.int64), "iso", valid=valid)


def epoch(seconds: np.ndarray, valid: np.ndarray | None = None) -> Column:
    return Column(np.asarray(seconds, dtype=np.int64), "epoch", valid=valid)


def app_user_ids(pop: Population, person: np.ndarray) -> pa.Array:
    return pop.app_user_id_text.take(pa.array(np.asarray(person, dtype=np.int64)))


def order_ids(day: Day, seq: np.ndarray) -> pa.Array:
    """Order numbers as the order system prints them: O<yyyymmdd><7 digits>."""
    return numbered(f"O{day.date:%Y%m%d}", 1_000_000 + (np.asarray(seq) % 10_000_000))


def text(options: tuple, index: np.ndarray) -> np.ndarray:
    array = np.array([o.encode() if isinstance(o, str) else o for o in options])
    return array[np.asarray(index)]
