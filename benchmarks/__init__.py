"""autonet's benchmark suite: every workload by autonet, by a hand-written NumPy floor and by
PyTorch on CPU, checked against each other and timed side by side.

Run it with ``python -m benchmarks`` (see ``benchmarks/README.md``); it is never part of the
test run. Nothing here is imported by autonet.
"""
