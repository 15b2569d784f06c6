#!/usr/bin/env bash
# Incremental developer build: C++ library, C++ tests and the Python extension
# in ./build-dev, with the extension linked into python/pcstream so that
# `PYTHONPATH=python pytest` works without reinstalling.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DPCSTREAM_BUILD_PYTHON=ON \
  -DPCSTREAM_BUILD_TESTS=ON -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" \
  -DPython_EXECUTABLE="$(command -v python3)" >/dev/null
cmake --build build-dev -j2
ln -sf "$PWD"/build-dev/_core*.so python/pcstream/
