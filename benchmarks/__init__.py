"""Benchmarks that need more than the package: devices, a browser (see each script)."""
