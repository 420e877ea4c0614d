"""Tiny random-weight XTTS-v2 and OpenVoice checkpoints in their published folder layouts (for tests)."""

from __future__ import annotations

import json
from pathlib import Path

import torch


def make_xtts(root: Path) -> Path:
    from tokenizers import Tokenizer, models
    from TTS.tts.configs.xtts_config import XttsConfig
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts, XttsArgs

    root.mkdir(parents=True, exist_ok=True)
    specials = ["[STOP]", "[UNK]", "[SPACE]", "[START]", "[en]"]
    vocab = {t: i for i, t in enumerate(specials + list("abcdefghijklmnopqrstuvwxyz.,!?'-0123456789"))}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    tokenizer.add_special_tokens(specials)
    tokenizer.save(str(root / "vocab.json"))
    config = XttsConfig()
    config.model_args = XttsArgs(
        gpt_layers=1, gpt_n_model_channels=32, gpt_n_heads=2, gpt_max_audio_tokens=40, gpt_max_text_tokens=100,
        gpt_max_prompt_tokens=20, decoder_input_dim=32, gpt_num_audio_tokens=64, gpt_start_audio_token=62, gpt_stop_audio_token=63,
    )
    torch.manual_seed(0)
    model = Xtts(config)
    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(root / "vocab.json"))
    model.init_models()
    torch.save({"model": model.state_dict()}, root / "model.pth")
    config.save_json(str(root / "config.json"))
    return root


def make_openvoice(root: Path) -> Path:
    from TTS.vc.configs.openvoice_config import OpenVoiceArgs, OpenVoiceConfig
    from TTS.vc.models.openvoice import OpenVoice

    root.mkdir(parents=True, exist_ok=True)
    sizes = {"inter_channels": 16, "hidden_channels": 16, "filter_channels": 32, "upsample_initial_channel": 32, "gin_channels": 32}
    torch.manual_seed(0)
    model = OpenVoice(OpenVoiceConfig(model_args=OpenVoiceArgs(**sizes)))
    torch.save({"model": model.state_dict()}, root / "checkpoint.pth")
    original = {"data": {"sampling_rate": 22050, "filter_length": 1024, "hop_length": 256, "win_length": 1024}, "model": {**sizes, "zero_g": True}}
    (root / "config.json").write_text(json.dumps(original))
    return root
