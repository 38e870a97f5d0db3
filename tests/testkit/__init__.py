"""Helpers shared by the test modules (importable because pyproject sets pytest's ``pythonpath``).

``runner_doubles``: the runner's test-double system and data; ``tiny_models``:
tiny random-weight models saved with ``save_pretrained``; ``synthetic``: seeded
corpora for the metrics tests; ``tools``: external programs (Chromium, pdflatex)
that a test needs.
"""
