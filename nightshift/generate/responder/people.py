"""Who in the simulated world an exported contact reaches, so the benefit ledger can name their account.

A campaign file names a person by Nightshift's `one_id` and the channel address (`contact_ref`: an E.164 phone,
an app user_id, an Official Account openid or a WeCom external_userid). The benefit system keys grants by the app
account (`user_id`), which only the push channel exports. The world the landing files came from is rebuilt from
`<landing>/_truth/world.json` (`build_population` with the same arguments gives the same people) and the address
looked up in it. People who never registered in the app still get their grants on the user_id the app keeps for
them (the world gives every person one), the way a coupon waits in a member account until its owner signs in.

Without a world (hand-written exports) or for an address the world does not know, the account is the app user_id
itself when the address is one, else `UN<one_id>`: a member account the benefit system opened for a contact it
could not match, in a namespace the world's accounts (`U` + 8 digits) never use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from nightshift.generate.population import Population, build_population
from nightshift.generate.render.contact import JPUSH_REGISTRATION_PREFIX

WORLD_FILE = Path("_truth") / "world.json"
UNMATCHED_ACCOUNT_PREFIX = "UN"
APP_USER_ID = re.compile(r"^U(\d{1,17})$")
CN_PHONE = re.compile(r"^(?:\+?86)?(1\d{10})$")
NOBODY = -1


def load_world(landing_root: Path) -> Population | None:
    """The world's people, or None when the landing root has no `_truth/world.json`."""
    path = Path(landing_root) / WORLD_FILE
    if not path.exists():
        return None
    world = json.loads(path.read_text(encoding="utf-8"))
    return build_population(world["users"], date.fromisoformat(world["start_date"]), world["days"], world["seed"])


def _lookup(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index into `keys` of each wanted value (the lowest index among equal keys), NOBODY when absent."""
    if not len(wanted) or not len(keys):
        return np.full(len(wanted), NOBODY, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    at = np.minimum(np.searchsorted(sorted_keys, wanted), len(keys) - 1)
    return np.where(sorted_keys[at] == wanted, order[at], NOBODY).astype(np.int64)


def _numbers(refs: np.ndarray, pattern: re.Pattern) -> np.ndarray:
    """The number a pattern captures from each ref, -1 where it does not match."""
    out = np.full(len(refs), -1, dtype=np.int64)
    for row, ref in enumerate(refs):
        match = pattern.match(ref)
        if match:
            out[row] = int(match.group(1))
    return out


@dataclass
class People:
    """The world's people behind a batch of contact refs (`person` NOBODY where unknown)."""

    population: Population | None
    refs: np.ndarray
    person: np.ndarray

    @classmethod
    def resolve(cls, population: Population | None, refs: np.ndarray) -> People:
        person = np.full(len(refs), NOBODY, dtype=np.int64)
        if population is None or not len(refs):
            return cls(population, refs, person)
        phone = _numbers(refs, CN_PHONE)
        app_number = _numbers(refs, APP_USER_ID)
        as_bytes = np.array([ref.encode() for ref in refs], dtype=bytes)
        for hits in (
            np.where(phone >= 0, _lookup(population.phone, phone), NOBODY),
            np.where(app_number >= 0, _lookup(population.app_user_num, app_number), NOBODY),
            _lookup(population.oa_openid, as_bytes),
            _lookup(population.wecom_external_userid, as_bytes),
        ):
            person = np.where(person == NOBODY, hits, person)
        return cls(population, refs, person)

    @property
    def found(self) -> np.ndarray:
        return self.person != NOBODY

    def app_accounts(self, one_ids: np.ndarray) -> np.ndarray:
        """The app user_id each contact's grants go to (see the module docstring for unknown people)."""
        out = np.array([f"{UNMATCHED_ACCOUNT_PREFIX}{one_id}" for one_id in one_ids], dtype=object)
        is_app_id = np.array([APP_USER_ID.match(ref) is not None for ref in self.refs], dtype=bool)
        out[is_app_id] = self.refs[is_app_id]
        if self.population is not None and self.found.any():
            text = self.population.app_user_id_text.take(pa.array(self.person[self.found])).to_pylist()
            out[self.found] = np.array(text, dtype=object)
        return out

    def push_registrations(self) -> np.ndarray:
        """JPush registration_id per contact: the world's for its person, else one made from the address."""
        numbers = _numbers(self.refs, APP_USER_ID)
        if self.population is not None:
            numbers = np.where(self.found, self.population.app_user_num[np.maximum(self.person, 0)], numbers)
        return np.array(
            [
                f"{JPUSH_REGISTRATION_PREFIX}{number}" if number >= 0 else f"{JPUSH_REGISTRATION_PREFIX}x{ref}"
                for number, ref in zip(numbers.tolist(), self.refs, strict=True)
            ],
            dtype=object,
        )

    def push_platforms(self) -> tuple[np.ndarray, np.ndarray]:
        """(platform, known): the person's phone OS as JPush reports it; unknown without a world."""
        if self.population is None:
            return np.full(len(self.refs), "android", dtype=object), np.zeros(len(self.refs), dtype=bool)
        ios = self.population.os_idx[np.maximum(self.person, 0)] == 0
        return np.where(ios, "ios", "android").astype(object), self.found.copy()
