"""The morning report operations open first: one night's figures read back from the warehouse, rendered as a
self-contained HTML page, a short summary.md, one CSV per table and the plain-text nightly_report.txt, and
delivered by e-mail and a group-robot webhook when configured.

| module          | concern |
|-----------------|---------|
| `model.py`      | `Report`, `Section`, `Table`, `Chart`: what every renderer reads |
| `gather.py`     | every section's figures, read from the warehouse with one query per table |
| `exports.py`    | the export section, from the manifests on disk (tonight against last night) |
| `measurement.py`| the hook for `marts.campaign_measurement` (rendered only when the table exists) |
| `charts.py`     | inline SVG charts (bars and trends), no scripts and no network |
| `html.py`       | `index.html` from `templates/report.html.j2` (jinja2) |
| `summary.py`    | `summary.md`, 10-15 lines for a chat message or an e-mail body |
| `text.py`       | `nightly_report.txt`, the fixed-width text report |
| `delivery.py`   | e-mail (SMTP) and WeCom / DingTalk group-robot webhooks; failures reported, never raised |
| `outputs.py`    | writes every file of `<reports>/<date>/` |
"""
