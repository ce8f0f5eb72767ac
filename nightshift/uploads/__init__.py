"""Uploaded lists: `segments/uploads/<name>.csv` (phones, unionids, openids, app user ids from a partner or an
operator) matched through the identity map into a segment like any other.

`reading.py` turns a file into checked columns (or an UploadError naming the file, line and what to do);
`matching.py` normalises the ids and matches them in ClickHouse, reporting the match rate and every unmatched
row with its reason.
"""
