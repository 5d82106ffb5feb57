"""The charts: runs of one variant share a colour and differ in line style; files are real PNGs."""

from fame_tf import plots


def test_runs_of_a_group_share_a_colour_and_differ_in_style():
    names = ["sasrec seed 1", "fame seed 1", "sasrec seed 2", "fame seed 2", "sasrec seed 3"]
    styles = plots.run_styles(names, {name: name.split()[0] for name in names})
    assert styles["sasrec seed 1"][0] == styles["sasrec seed 2"][0] == styles["sasrec seed 3"][0]
    assert styles["fame seed 1"][0] == styles["fame seed 2"][0] != styles["sasrec seed 1"][0]
    assert len({styles[f"sasrec seed {seed}"][1] for seed in (1, 2, 3)}) == 3


def test_without_groups_every_run_has_its_own_colour():
    styles = plots.run_styles(["a", "b", "c"])
    assert len({colour for colour, _ in styles.values()}) == 3


def test_validation_curves_write_a_png_with_both_protocols(tmp_path):
    history = [{"epoch": e, "ndcg@10": 0.01 * e, "seen_excluded": {"ndcg@10": 0.02 * e}} for e in (1, 2, 3)]
    path = plots.validation_curves({"fame seed 1": history, "fame seed 2": history[:2]}, str(tmp_path / "c.png"),
                                   groups={"fame seed 1": "fame", "fame seed 2": "fame"},
                                   selected={"fame seed 1": 3, "fame seed 2": 1})
    assert open(path, "rb").read()[:8] == b"\x89PNG\r\n\x1a\n"
