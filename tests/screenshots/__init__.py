"""The README's pictures, made from real runs: ``python -m tests.screenshots`` (see __main__)."""
