"""Ground truth under `<landing>/_truth/`: who is behind which identifier, and which lines are dirty.

`identities.csv` (person_id, source, id_type, id_value): every identifier a clean record of a source shows for a
person, taken from the written tables themselves, so each claim can be found in the files. Phones are given in
E.164 (+86...), the form ingestion normalises them to; other ids verbatim. Junk identifiers (the placeholder
phone, the all-zero device id) identify nobody and are listed in `junk_identifiers.csv` instead. Shared phones
(family members) legitimately appear under several persons.

A person is who the company can know as one: accounts of one human that no delivered record links (a Douyin fan
who never left a lead with their phone, a WeChat account without unionid...) are separate persons in the truth,
`P<number>-<k>` beside the `P<number>` of the human's largest linked group of ids. The population makes such
unlinked accounts rare (see the bridging rates in `nightshift.generate.population`): they cost under 1% of the
same-human pairs of ids, so a resolver can reach 0.99 recall against the humans themselves (`human_recall` in
`bench/identity_evaluate.py`). The world summary counts them (`split_persons`). Links are the subject ids on one
clean record; reference ids (an inviter, a gift receiver) and junk identifiers link nothing.

`dirty_records.csv` (source_file, line_number, reason_code): see `nightshift.generate.dirt`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from nightshift.generate.ids import PLACEHOLDER_PHONE, ZERO_DEVICE_ID, numbered
from nightshift.generate.table import Table, as_string_array

JUNK_IDENTIFIERS = (
    ("phone", "+86" + PLACEHOLDER_PHONE, "placeholder phone typed in when a real one was not known"),
    ("device_id", ZERO_DEVICE_ID, "all-zero advertising id reported when tracking is limited"),
)
_JUNK_VALUES = {PLACEHOLDER_PHONE, ZERO_DEVICE_ID}


class IdentityCollector:
    """Accumulates (person, source, id_type, id_value) from every table written, deduplicated at the end,
    and the links between a person's ids (subject ids on one record) that decide the truth's persons."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], list[tuple[np.ndarray, pa.Array]]] = {}
        self._links: list[tuple[np.ndarray, np.ndarray, pa.Array]] = []  # (row serial, person, "type\x1fvalue")
        self._rows_seen = 0
        self._solo_serial = 1 << 40  # row serials of reference ids, beyond any real record's
        self.split_persons = 0  # written persons beyond each human's main group

    def add(self, table: Table) -> None:
        entity = table.entity
        for spec in entity.fields:
            column = table.columns.get(spec.name)
            if spec.id_type is None or column is None:
                continue
            owner = np.asarray(table.person if column.owner is None else column.owner, dtype=np.int64)
            present = np.ones(len(table), dtype=bool) if column.valid is None else column.valid.copy()
            present &= owner >= 0
            key = (entity.source, spec.id_type)
            links = spec.is_subject_id and column.owner is None
            if column.kind == "str_list":
                counts = np.asarray(column.counts)
                for slot in range(column.values.shape[1]):
                    self._add_values(key, owner, column.values[:, slot], present & (counts > slot), links)
            else:
                self._add_values(key, owner, column.values, present, links)
        self._rows_seen += len(table)

    def _add_values(self, key: tuple[str, str], owner: np.ndarray, values, present: np.ndarray, links: bool) -> None:
        if not present.any():
            return
        text = as_string_array(values).filter(pa.array(present))
        person = owner[present]
        keep = pc.invert(pc.is_in(text, value_set=pa.array(sorted(_JUNK_VALUES)))).to_numpy(zero_copy_only=False)
        kept = text.filter(pa.array(keep))
        if isinstance(kept, pa.ChunkedArray):
            kept = kept.combine_chunks()
        self._parts.setdefault(key, []).append((person[keep], kept))
        if links:
            rows = self._rows_seen + np.flatnonzero(present)[keep]
        else:  # a reference links nothing: a record of its own
            rows = self._solo_serial + np.arange(len(kept))
            self._solo_serial += len(kept)
        self._links.append((rows, person[keep], pc.binary_join_element_wise(key[1], kept, "\x1f")))

    def _groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(person, id code, group rank) per linked id: rank 0 for the person's largest linked group.

        Id codes index the distinct "type\x1fvalue" texts (`self._codes`). Components by min-label
        propagation with pointer jumping over each record's star of ids (components are tiny).
        """
        if not self._links:
            self._codes = pa.array([], pa.string())
            empty = np.zeros(0, np.int64)
            return empty, empty, empty
        rows = np.concatenate([r for r, _, _ in self._links])
        person = np.concatenate([p for _, p, _ in self._links])
        encoded = pc.dictionary_encode(pa.concat_arrays([t.cast(pa.string()) for _, _, t in self._links]))
        self._codes = encoded.dictionary
        code = encoded.indices.to_numpy().astype(np.int64)
        # A node is an id of a person (a shared phone is one node per person sharing it).
        nodes, node = np.unique(person * (1 << 32) + code, return_inverse=True)
        order = np.argsort(rows, kind="stable")
        rows, node = rows[order], node[order]
        first = np.r_[0, np.flatnonzero(np.diff(rows)) + 1]
        centre = np.repeat(node[first], np.diff(np.r_[first, len(rows)]))
        label = np.arange(len(nodes))
        while True:
            low = np.minimum(label[node], label[centre])
            np.minimum.at(label, node, low)
            np.minimum.at(label, centre, low)
            while not np.array_equal(label[label], label):
                label = label[label]
            if np.array_equal(label[node], label[centre]):
                break
        node_person = nodes >> 32
        sizes = np.bincount(label, minlength=len(nodes))
        # Rank groups within a person: largest first, then smallest label.
        groups = np.unique(label)
        by_rank = np.lexsort((groups, -sizes[groups], node_person[groups]))
        ranked = groups[by_rank]
        owner = node_person[ranked]
        start = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
        rank = np.arange(len(ranked)) - np.repeat(start, np.diff(np.r_[start, len(ranked)]))
        group_rank = np.zeros(len(nodes), np.int64)
        group_rank[ranked] = rank
        return node_person, nodes & ((1 << 32) - 1), group_rank[label]

    def write(self, path: Path) -> int:
        """Write identities.csv sorted by person, source, id_type; returns the row count.

        Deduplication works on integers: values are dictionary-encoded per (source, id_type), and
        (person, value code) pairs are made unique with numpy, which is far cheaper than grouping strings.
        """
        persons: list[np.ndarray] = []
        groups: list[np.ndarray] = []
        values: list[pa.Array] = []
        keys = sorted(self._parts)
        for group, key in enumerate(keys):
            person = np.concatenate([p for p, _ in self._parts[key]])
            text = pa.concat_arrays([v for _, v in self._parts[key]])
            encoded = pc.dictionary_encode(text)
            codes = encoded.indices.to_numpy().astype(np.int64)
            _, first = np.unique(person * (1 << 32) + codes, return_index=True)
            persons.append(person[first])
            groups.append(np.full(len(first), group, dtype=np.int64))
            values.append(text.take(pa.array(first)))
        if not keys:
            persons, groups, values = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [pa.array([], pa.string())]
        person = np.concatenate(persons)
        group = np.concatenate(groups)
        id_value = pa.concat_arrays(values)
        rank = self._ranks(person, group, keys, id_value)
        order = np.lexsort((group, rank, person))
        id_value = id_value.take(pa.array(order))
        person, group, rank = person[order], group[order], rank[order]
        self.split_persons = int(np.unique(person[rank > 0] * (1 << 20) + rank[rank > 0]).size)
        phone = np.array([k[1] == "phone" for k in keys] or [False])[group]
        id_value = pc.if_else(pa.array(phone), pc.binary_join_element_wise("+86", id_value, ""), id_value)
        group_codes = pa.array(group.astype(np.int32))
        out = pa.table(
            {
                "person_id": pc.binary_join_element_wise(
                    "P",
                    pc.utf8_lpad(numbered("", person), 8, "0"),
                    pc.if_else(pa.array(rank > 0), numbered("-", rank + 1), ""),
                    "",
                ),
                "source": pa.DictionaryArray.from_arrays(group_codes, pa.array([k[0] for k in keys] or [""])),
                "id_type": pa.DictionaryArray.from_arrays(group_codes, pa.array([k[1] for k in keys] or [""])),
                "id_value": id_value,
            }
        )
        pacsv.write_csv(out, path, pacsv.WriteOptions(quoting_style="needed"))
        return out.num_rows

    def _ranks(self, person: np.ndarray, group: np.ndarray, keys: list, id_value: pa.Array) -> np.ndarray:
        """Group rank (0 = the person's main group) of each (person, id) row of the truth."""
        node_person, node_code, node_rank = self._groups()
        id_type = pa.array([keys[g][1] for g in range(len(keys))] or [""]).take(pa.array(group))
        code = pc.index_in(pc.binary_join_element_wise(id_type, id_value, "\x1f"), value_set=self._codes)
        wanted = person * (1 << 32) + code.to_numpy(zero_copy_only=False).astype(np.int64)
        known = node_person * (1 << 32) + node_code
        order = np.argsort(known)
        at = np.searchsorted(known, wanted, sorter=order)
        return node_rank[order[at]]


def write_dirty_records(path: Path, rows: list[tuple[str, int, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source_file", "line_number", "reason_code"])
        writer.writerows(rows)


def write_junk_identifiers(path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id_type", "id_value", "reason"])
        writer.writerows(JUNK_IDENTIFIERS)
