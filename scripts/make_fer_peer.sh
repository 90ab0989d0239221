#!/usr/bin/env bash
# The peer of `emotion-ros bench-faces`: the `fer` package as its users run it, in its own venv
# (it needs TensorFlow and OpenCV < 5 for its Haar cascade, which this project does not use;
# fer imports pkg_resources, which setuptools 81 and later no longer have).
#   scripts/make_fer_peer.sh [DIR]    (default .venv-fer-peer; about 1.5 GB)
set -euo pipefail
dir=${1:-.venv-fer-peer}
python3 -m venv "$dir"
"$dir/bin/pip" install --quiet --disable-pip-version-check tensorflow-cpu==2.21.0 \
  opencv-python-headless==4.14.0.94 pillow==13.0.0 requests==2.34.2 setuptools==80.9.0
"$dir/bin/pip" install --quiet --disable-pip-version-check --no-deps fer==25.10.3
echo "peer ready: $dir/bin/python"
