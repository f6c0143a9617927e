"""One module per contender, each runnable as `python -m bench.contenders.<name> --landing --as-of --out`."""
