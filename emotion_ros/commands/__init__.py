"""The `emotion-ros` commands, one module per command family (cli.py dispatches to them)."""
