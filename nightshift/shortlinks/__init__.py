"""The short-link redirect service (`nightshift shortlinks serve`): `GET /<code>` answers 302 to the plan's
landing page with UTM parameters and logs the click as a landing file of the `clicks` source.

- `index.py`: which codes exist, read from the lake copy of `audience.short_links` the export stage writes (the
  service never opens the warehouse: the embedded engine allows one process, and that is the nightly batch).
- `clicklog.py`: one JSON line per click in `<landing>/clicks/<Beijing day>/`, the `clicks` source's files.
- `app.py`: the Starlette app; anything but a known, canonical code gets the same plain 404 page.
"""
