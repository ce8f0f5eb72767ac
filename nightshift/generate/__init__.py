"""The simulated world behind `nightshift generate`: a population and what each channel's system hands over.

Layers, each usable on its own:
- `population`: the people, their ids on every channel and their behaviour propensities (no file shapes);
- `activity`: what happens on one day (sessions, orders, grants, sends), rendered consistently everywhere;
- `render`: each source's records for a day, as catalog `Table`s in the platform's field names;
- `table` / `dirt` / `truth`: vectorised encoding, dirt injection and ground truth;
- `world.generate_world`: the entry point tying them together;
- `responder.respond`: the world answers a day of Nightshift's exports (grants, receipts, injected faults).
"""

from nightshift.generate.world import GenerationSummary, generate_world

__all__ = ["GenerationSummary", "generate_world"]
