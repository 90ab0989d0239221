"""Training: MMEVerse records and clip features, the perception-to-cognition curriculum,
distillation from stored teacher outputs, torchrun (DDP) training."""
