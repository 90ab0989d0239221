"""Sample media made offline from what the installed packages ship (scikit-image photographs,
espeak-ng speech): the demo clip, face composites and the several-people clip that the demo,
the tests, the benchmarks and the default model's build use."""
