"""Benchmarks for Switchboard: ``bash bench/run.sh`` (see docs/benchmarks.md)."""
