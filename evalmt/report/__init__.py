"""Report stage: turn scoring results into files (tables, manifest, HTML)."""
