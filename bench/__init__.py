"""Benchmarks: cold start, index builds, warm latency per stage, memory, scale, and the LangChain peer.

Run everything with `make bench` (or `.venv/bin/python -m bench.run`); see `bench.run`.
Each measured case runs in its own process so that its peak memory is its own; every
comparison is a ratio of two figures measured in the same run.
"""
