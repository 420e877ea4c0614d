import json

import pytest

from detect.protocols import ProtocolError, parse_line
from detect.scorefile import ScoreFileError, read_asv_scores, read_cm_scores
from voxtwin.cli import app


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def test_protocol_layouts_of_every_edition():
    e = parse_line("LA_0069 LA_D_1047731 - - bonafide".split())
    assert (e.utterance, e.system, e.key) == ("LA_D_1047731", "-", "bonafide")
    e = parse_line("LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval".split())
    assert (e.system, e.key, e.metadata["codec"]) == ("A07", "spoof", "alaw")
    e = parse_line("T_4850 T_0000000000 F - - - AC3 A05 spoof -".split())
    assert (e.speaker, e.system, e.key, e.metadata["attack_tag"]) == ("T_4850", "A05", "spoof", "AC3")
    with pytest.raises(ProtocolError):
        parse_line("one two three".split())


def test_four_and_two_column_scores(tmp_path):
    four = _write(tmp_path / "s4.txt", ["u1 - bonafide 2.0", "u2 A01 spoof -1.0", "u3 A02 spoof 0.5"])
    cm = read_cm_scores(four)
    assert list(cm.bonafide) == [2.0] and sorted(cm.by_system()) == ["A01", "A02"]
    protocol = _write(tmp_path / "p.txt", ["S u1 - - bonafide", "S u2 - A01 spoof", "S u3 - A02 spoof"])
    two = _write(tmp_path / "s2.txt", ["u1 2.0", "u2 -1.0", "u3 0.5"])
    assert list(read_cm_scores(two, protocol=protocol).spoof) == [-1.0, 0.5]
    with pytest.raises(ScoreFileError, match="--protocol"):
        read_cm_scores(two)
    for rows, message in ((["u1 2.0", "u2"], "s2b.txt:2: 1 columns"), (["u1 2.0", "u1 0.5", "u3 0.5"], "scored again")):
        with pytest.raises(ScoreFileError, match=message):  # a short row was an IndexError (exit 4); a repeat counted twice
            read_cm_scores(_write(tmp_path / "s2b.txt", rows), protocol=protocol)


@pytest.mark.parametrize("lines,message", [
    (["u1 - bonafide abc"], "not a number"),
    (["u1 - bonafide nan", "u2 - spoof 1"], "not finite"),
    (["u1 - bonafide 1.0"], "no spoof"),
    (["u1 x y z w"], "columns"),
    (["u1 - bonafide 1.0", "u2 A01 spoof 0.2", "u1 A02 spoof 0.3"], r"bad.txt:3: utterance 'u1' is scored again \(first on line 1\)"),
    (["# a comment", "", "u1 - bonafide 1.0", "u2 A01 spoof zz"], r"bad.txt:4: score 'zz'"),  # the file's line, comments counted
])
def test_bad_score_files(tmp_path, lines, message):
    with pytest.raises(ScoreFileError, match=message):
        read_cm_scores(_write(tmp_path / "bad.txt", lines))


def test_asv_scores_need_all_types(tmp_path):
    ok = _write(tmp_path / "asv.txt", ["bonafide target 3", "bonafide nontarget -1", "spoof spoof 1"])
    assert {k: len(v) for k, v in read_asv_scores(ok).items()} == {"target": 1, "nontarget": 1, "spoof": 1}
    with pytest.raises(ScoreFileError, match="nontarget"):
        read_asv_scores(_write(tmp_path / "asv2.txt", ["bonafide target 3", "spoof spoof 1"]))


def test_metrics_cli_json(runner, tmp_path):
    scores = _write(tmp_path / "s.txt", ["u1 - bonafide 2.0", "u2 - bonafide 1.0", "u3 A01 spoof -1.0", "u4 A02 spoof 1.5"])
    asv = _write(tmp_path / "asv.txt", ["bonafide target 3", "bonafide target 2", "bonafide nontarget -1", "bonafide nontarget 0", "spoof spoof 1", "spoof spoof 2.5"])
    result = runner.invoke(app, ["detect", "metrics", str(scores), "--asv-scores", str(asv), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"eer_percent", "eer_threshold", "min_tdcf", "n_bonafide", "n_spoof"} <= set(out)
    assert out["n_bonafide"] == 2 and out["eer_percent"] == pytest.approx(50.0)
    five = json.loads(runner.invoke(app, ["detect", "metrics", str(scores), "--asv-scores", str(asv), "--format", "asvspoof5", "--json"]).stdout)
    assert {"min_dcf", "act_dcf", "cllr", "a_dcf", "t_eer_percent"} <= set(five)


def test_metrics_cli_bad_file_is_one_line(runner, tmp_path):
    result = runner.invoke(app, ["detect", "metrics", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and "no such file" in result.stderr
