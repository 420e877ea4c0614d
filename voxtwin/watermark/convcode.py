"""Error correction for the watermark payload: a rate-1/2 convolutional code (constraint length 7, the
generators 133/171 octal used by 802.11 and DVB) with soft-decision Viterbi decoding.

Soft decoding matters here: the watermark reads each coded bit as a noisy correlation, and Viterbi uses how sure
each reading is instead of rounding it to 0/1 first.
"""

from __future__ import annotations

import numpy as np

CONSTRAINT_LENGTH = 7
GENERATORS = (0o133, 0o171)
N_STATES = 1 << (CONSTRAINT_LENGTH - 1)
TAIL_BITS = CONSTRAINT_LENGTH - 1


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


def _transitions() -> tuple[np.ndarray, np.ndarray]:
    """next_state[state, bit] and output signs out[state, bit, g] in {-1, +1} (+1 = coded bit 1)."""
    next_state = np.zeros((N_STATES, 2), dtype=np.int64)
    out = np.zeros((N_STATES, 2, len(GENERATORS)), dtype=np.float64)
    for state in range(N_STATES):
        for bit in (0, 1):
            register = (bit << (CONSTRAINT_LENGTH - 1)) | state
            next_state[state, bit] = register >> 1
            for g, generator in enumerate(GENERATORS):
                out[state, bit, g] = 1.0 if _parity(register & generator) else -1.0
    return next_state, out


_NEXT, _OUT = _transitions()


def encode(bits: np.ndarray) -> np.ndarray:
    """Message bits (0/1) -> coded bits (0/1), length 2 * (len(bits) + 6); the encoder ends in state 0."""
    state, coded = 0, []
    for bit in list(np.asarray(bits, dtype=np.int64)) + [0] * TAIL_BITS:
        coded.extend(1 if s > 0 else 0 for s in _OUT[state, bit])
        state = _NEXT[state, bit]
    return np.asarray(coded, dtype=np.int64)


def decode(soft: np.ndarray, n_bits: int) -> np.ndarray:
    """Soft Viterbi decoding.

    Args:
        soft: Reliability of each coded bit, positive = 1, negative = 0 (e.g. a correlation), length 2 * (n_bits + 6).
        n_bits: Number of message bits.
    Returns:
        The most likely message bits (0/1), shape (n_bits,).
    """
    n_steps = n_bits + TAIL_BITS
    soft = np.asarray(soft, dtype=np.float64).reshape(n_steps, len(GENERATORS))
    metric = np.full(N_STATES, -np.inf)
    metric[0] = 0.0
    back = np.zeros((n_steps, N_STATES, 2), dtype=np.int64)  # (previous state, bit) that reached each state
    for step in range(n_steps):
        branch = metric[:, None] + _OUT @ soft[step]  # (state, bit)
        if step >= n_bits:  # the tail is all zeros
            branch[:, 1] = -np.inf
        new_metric = np.full(N_STATES, -np.inf)
        for bit in (0, 1):
            targets = _NEXT[:, bit]
            better = branch[:, bit] > new_metric[targets]
            # several states share a target: resolve in order so the best one wins
            for state in np.nonzero(better)[0]:
                target = targets[state]
                if branch[state, bit] > new_metric[target]:
                    new_metric[target] = branch[state, bit]
                    back[step, target] = (state, bit)
        metric = new_metric
    bits, state = [], 0
    for step in range(n_steps - 1, -1, -1):
        state, bit = back[step, state]
        bits.append(bit)
    return np.asarray(bits[::-1][:n_bits], dtype=np.int64)
