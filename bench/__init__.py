"""The performance benchmark of issue 7: a synthetic history, the baselines it is
measured against, the ledger's own paths, and the report. Run `python -m bench`
(or `python -m bench --quick`); see docs/benchmarks.md for the last full run."""
