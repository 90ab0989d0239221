"""`python -m emotion_ros ...` is the `emotion-ros` command (what torchrun -m launches)."""

import sys

from emotion_ros.cli import main

sys.exit(main())
