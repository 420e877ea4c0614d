#!/usr/bin/env bash
# One prepared GPU session (device machine: python3 with torch and torchaudio, no network).
# Audio I/O wheels travel in .gpu_wheels/ (pip download ... for Python 3.12); voxtwin runs from the tree.
set -u
pip install -q --no-deps --no-index --target /tmp/deps .gpu_wheels/*.whl
export PYTHONPATH=/tmp/deps:$PWD
OUT=${OUT:-/tmp/out}
python3 -c "import torch, torchaudio; print('torch', torch.__version__, 'torchaudio', torchaudio.__version__, torch.cuda.get_device_name())"
[ -n "${SKIP_MODELS:-}" ] || python3 benchmarks/detect_models.py --device cuda --batch-size 24 --repeats 5 --threads 8 2>&1 | tee "$OUT/models_gpu.txt"
[ -n "${SKIP_MODELS:-}" ] || python3 benchmarks/detect_models.py --device cpu --batch-size 8 --repeats 2 --threads 16 2>&1 | tee "$OUT/models_cpu16.txt"
python3 benchmarks/gpu_check.py --out /tmp/gc 2>&1 | tail -40 | tee "$OUT/train_gpu.txt"
torchrun --nproc_per_node=1 benchmarks/gpu_check.py --out /tmp/gc_ddp 2>&1 | tail -40 | tee "$OUT/train_ddp.txt"
