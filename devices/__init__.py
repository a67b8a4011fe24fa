"""Device layer: serial links, protocol decoders and simulators.

Pure Python by contract (see pyproject's import-linter section): nothing here imports Qt or
the console, so a link can run in a headless recorder, a test or a benchmark unchanged.
"""
