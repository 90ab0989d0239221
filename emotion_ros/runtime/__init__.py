"""Inference at run time: backends, the per-frame cache, estimates, debouncing, workers."""
