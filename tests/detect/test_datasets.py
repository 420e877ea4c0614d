import shutil

import pytest

from detect.datasets import DATASETS, DatasetLayoutError, read_dataset
from detect.testing import LAYOUTS


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_reader_reads_its_miniature_layout(tmp_path, name):
    root = LAYOUTS[name](tmp_path / name)
    trials = read_dataset(name, root, "all" if name == "manifest" else "eval")
    assert {t.label for t in trials} == {"bonafide", "spoof"}
    assert all(t.path.is_file() for t in trials)
    spoof_systems = {t.system for t in trials if t.is_spoof}
    assert spoof_systems and "-" not in spoof_systems


def test_registry_lists_every_corpus():
    assert set(DATASETS.names()) == {"asvspoof2019_la", "asvspoof2021_la", "asvspoof2021_df", "asvspoof5", "in_the_wild", "wavefake", "mlaad", "manifest"}


def test_asvspoof2019_splits(tmp_path):
    root = LAYOUTS["asvspoof2019_la"](tmp_path)
    assert {t.system for t in read_dataset("asvspoof2019_la", root, "train")} == {"-", "A01", "A02"}
    assert {t.system for t in read_dataset("asvspoof2019_la", root, "eval")} == {"-", "A07", "A17"}


@pytest.mark.parametrize("name,remove,message", [
    ("asvspoof2019_la", "LA/ASVspoof2019_LA_cm_protocols", "CM protocol"),
    ("asvspoof2019_la", "LA/ASVspoof2019_LA_eval/flac", "eval audio folder"),
    ("asvspoof2021_la", "keys", "keys"),
    ("asvspoof5", "flac_E_eval", "eval audio folder"),
    ("in_the_wild", "meta.csv", "meta.csv"),
    ("wavefake", "LJSpeech-1.1", "real ljspeech"),
    ("mlaad", "mailabs", "M-AILABS"),
    ("manifest", "manifest.csv", "manifest.csv"),
])
def test_missing_parts_are_named(tmp_path, name, remove, message):
    root = LAYOUTS[name](tmp_path / name)
    target = root / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(DatasetLayoutError, match=message):
        read_dataset(name, root, "all" if name == "manifest" else "eval")


def test_missing_audio_file_is_reported(tmp_path):
    root = LAYOUTS["asvspoof2021_df"](tmp_path)
    next((root / "ASVspoof2021_DF_eval" / "flac").iterdir()).unlink()
    with pytest.raises(DatasetLayoutError, match="1 of 8 audio files"):
        read_dataset("asvspoof2021_df", root)


def test_manifest_rejects_path_escape(tmp_path):
    root = LAYOUTS["manifest"](tmp_path)
    text = (root / "manifest.csv").read_text().splitlines()
    text[1] = "../../etc/passwd" + text[1][text[1].index(","):]
    (root / "manifest.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DatasetLayoutError, match="escapes"):
        read_dataset("manifest", root, "all")
