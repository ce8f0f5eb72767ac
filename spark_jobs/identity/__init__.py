"""Spark job: OneID identity resolution (connected components over identifier links, stable integer ids).

Pure parts, each `DataFrame -> DataFrame`, one module per subject:
- `components`: `connected_components(edges)`: (src, dst) long pairs -> (node, component = smallest node of
  its component), by star rounds (Kiveris et al. 2014) that set settled pendants aside as they go; converges
  for any input (paths, stars, cycles) in O(log^2 n) rounds; what fits (`LOCAL_FINISH_EDGES`) is finished on the
  driver by scipy in one call. `node_key` turns an identifier into its node.
- `resolution`: `resolve_components(nodes, edges, config)`: identifiers -> components, with junk protection
  (blocklisted placeholder ids are dropped, hubs inside oversize components are cut, what stays oversize is
  not merged). The rules are `nightshift.identity.config.IdentityConfig` (config/identity.yml).
- `assignment`: `assign_one_ids(components, previous, max_issued_one_id)`: stable `one_id`s against the
  previous day's map, with merges and splits recorded; `identity_map` is the map contract.
- `job`: `run_job` reads the lake Parquet written by the identity stage and writes the outputs, with the
  session sized for the input (`sized_for`); thin `main()` for spark-submit (`python -m spark_jobs.identity`).
Imports point one way: job -> assignment, resolution -> components.
"""

from spark_jobs.identity.assignment import Assignment, assign_one_ids, identity_map
from spark_jobs.identity.components import ID_KEY, LOCAL_FINISH_EDGES, MAX_STAR_ROUNDS, connected_components, node_key
from spark_jobs.identity.job import SMALL_INPUT_EDGES, JobPaths, run_job, sized_for
from spark_jobs.identity.resolution import (
    BLOCK_REASON_BLOCKLIST,
    BLOCK_REASON_HUB,
    BLOCK_REASON_OVERSIZE,
    Resolution,
    resolve_components,
)

__all__ = [
    "BLOCK_REASON_BLOCKLIST",
    "BLOCK_REASON_HUB",
    "BLOCK_REASON_OVERSIZE",
    "ID_KEY",
    "LOCAL_FINISH_EDGES",
    "MAX_STAR_ROUNDS",
    "SMALL_INPUT_EDGES",
    "Assignment",
    "JobPaths",
    "Resolution",
    "assign_one_ids",
    "connected_components",
    "identity_map",
    "node_key",
    "resolve_components",
    "run_job",
    "sized_for",
]
