"""The export section: tonight's files from their manifests (rows, checksum), against the last earlier night that
exported, plus the contacts the export stage recorded in `audience.contact_history` (exactly the campaign files'
rows), and the sealed channel deliveries (`<campaign>/<channel>/manifest.json`): contacts, files, cost, the people
added, removed and unchanged since the previous night, and whether every file still matches its manifest."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from nightshift.deliveries.manifest import MANIFEST, verify
from nightshift.reporting.model import Section, Table
from nightshift.warehouse.partitions import table_exists

CONTACTS_SQL = "SELECT count() FROM audience.contact_history WHERE run_date = {d:Date}"


def read_manifests(export_dir: Path) -> dict[str, dict]:
    """File name -> manifest, for every `*.manifest.json` in a night's export directory (empty when absent)."""
    manifests = {}
    for path in sorted(export_dir.glob("*.manifest.json")):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifests[manifest["file"]] = manifest
    return manifests


def previous_export_dir(exports_root: Path, run_date: date) -> Path | None:
    """The latest night before `run_date` that has an export directory (nights can be skipped)."""
    earlier = []
    for path in exports_root.glob("????-??-??"):
        try:
            day = date.fromisoformat(path.name)
        except ValueError:
            continue
        if day < run_date and path.is_dir():
            earlier.append((day, path))
    return max(earlier)[1] if earlier else None


def deliveries_table(export_dir: Path) -> Table:
    rows = []
    for path in sorted(export_dir.glob(f"*/*/{MANIFEST}")):
        manifest, problems = json.loads(path.read_text(encoding="utf-8")), verify(path.parent)
        diff = manifest["diff"]
        rows.append((
            manifest["campaign_id"], manifest["target"], manifest["contacts"], manifest["left_out"],
            manifest["file_count"], round(manifest["cost_fen"] / 100, 2), diff["added"], diff["removed"],
            diff["unchanged"], diff["previous_run_date"] or "", "ok" if not problems else "; ".join(problems),
        ))  # fmt: skip
    return Table(
        "exports__deliveries", "Channel deliveries (sealed folders): people against the previous night",
        ["campaign_id", "target", "contacts", "left_out", "files", "cost_yuan", "added", "removed", "unchanged",
         "previous_night", "sealed"], rows,
    )  # fmt: skip


def exports(client, exports_root: Path, run_date: date) -> Section:
    export_dir = exports_root / run_date.isoformat()
    tonight = read_manifests(export_dir)
    previous_dir = previous_export_dir(exports_root, run_date)
    last_night = read_manifests(previous_dir) if previous_dir else {}
    rows = []
    for name in sorted(set(tonight) | set(last_night)):
        now, before = tonight.get(name), last_night.get(name)
        now_rows = now["rows"] if now else 0
        before_rows = before["rows"] if before else None
        change = now_rows - before_rows if before_rows is not None else None
        status = "new" if before is None else ("not exported tonight" if now is None else "")
        rows.append((name, now_rows, before_rows, change, now["sha256"] if now else "", status))
    files = Table(
        "exports__files", f"Files in {export_dir}" + (f", against {previous_dir.name}" if previous_dir else ""),
        ["file", "rows", "rows_last_night", "change", "sha256", "note"], rows,
    )  # fmt: skip
    headline: dict[str, int] = {}
    if tonight:
        headline = {
            "files": len(tonight),
            "rows": sum(manifest["rows"] for manifest in tonight.values()),
            "campaign rows": sum(m["rows"] for name, m in tonight.items() if name.startswith("campaign__")),
        }
        if last_night:
            headline["rows last night"] = sum(manifest["rows"] for manifest in last_night.values())
    if table_exists(client, "audience.contact_history"):
        headline["contacts recorded"] = int(client.query(CONTACTS_SQL, parameters={"d": run_date}).result_rows[0][0])
    notes = [f"Last night's files: {previous_dir}"] if previous_dir else ["No earlier night exported anything."]
    deliveries = deliveries_table(export_dir)
    if deliveries.rows:
        headline["deliveries"] = len(deliveries.rows)
        headline["deliveries not sealed"] = sum(1 for row in deliveries.rows if row[-1] != "ok")
    return Section("exports", "Exports", headline, [files, deliveries], notes=notes)
