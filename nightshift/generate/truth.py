"""Ground truth under `<landing>/_truth/`: who is behind which identifier, and which lines are dirty.

`identities.csv` (person_id, source, id_type, id_value): every identifier a clean record of a source shows
for a person, taken from the written tables themselves, so each claim can be found in the files. Phones are
given in E.164 (+86...), the form ingestion normalises them to; other ids verbatim. Junk identifiers (the
placeholder phone, the all-zero device id) identify nobody and are listed in `junk_identifiers.csv` instead.
Shared phones (family members) legitimately appear under several persons.

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
    """Accumulates (person, source, id_type, id_value) from every table written, deduplicated at the end."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], list[tuple[np.ndarray, pa.Array]]] = {}

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
            if column.kind == "str_list":
                counts = np.asarray(column.counts)
                for slot in range(column.values.shape[1]):
                    self._add_values(key, owner, column.values[:, slot], present & (counts > slot))
            else:
                self._add_values(key, owner, column.values, present)

    def _add_values(self, key: tuple[str, str], owner: np.ndarray, values, present: np.ndarray) -> None:
        if not present.any():
            return
        text = as_string_array(values).filter(pa.array(present))
        person = owner[present]
        keep = pc.invert(pc.is_in(text, value_set=pa.array(sorted(_JUNK_VALUES)))).to_numpy(zero_copy_only=False)
        kept = text.filter(pa.array(keep))
        if isinstance(kept, pa.ChunkedArray):
            kept = kept.combine_chunks()
        self._parts.setdefault(key, []).append((person[keep], kept))

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
        order = np.lexsort((group, person))
        id_value = pa.concat_arrays(values).take(pa.array(order))
        person, group = person[order], group[order]
        phone = np.array([k[1] == "phone" for k in keys] or [False])[group]
        id_value = pc.if_else(pa.array(phone), pc.binary_join_element_wise("+86", id_value, ""), id_value)
        group_codes = pa.array(group.astype(np.int32))
        out = pa.table(
            {
                "person_id": pc.binary_join_element_wise("P", pc.utf8_lpad(numbered("", person), 8, "0"), ""),
                "source": pa.DictionaryArray.from_arrays(group_codes, pa.array([k[0] for k in keys] or [""])),
                "id_type": pa.DictionaryArray.from_arrays(group_codes, pa.array([k[1] for k in keys] or [""])),
                "id_value": id_value,
            }
        )
        pacsv.write_csv(out, path, pacsv.WriteOptions(quoting_style="needed"))
        return out.num_rows


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
