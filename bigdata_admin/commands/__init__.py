"""CLI verbs, grouped by area. Each module exposes `register(app)`; keep top-level imports light
(heavy libraries are imported inside the command functions) so that `--help` stays fast."""
