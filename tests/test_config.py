import json

import pytest

from aae.config import Config, apply_overrides, from_dict, load_config_file, save_config
from aae.errors import AAEError
from aae.presets import PRESETS, get_preset


def test_overrides_are_typed():
    cfg = apply_overrides(
        Config(),
        [
            "model=autoencoder",
            "network.code_dim=8",
            "prior.std=5",
            "optim.recon.lr=1e-3",
            "network.hidden=[64,32]",
            'optim.recon.name="adam"',
            "recon_loss=bce",
        ],
    )
    assert cfg.model == "autoencoder" and cfg.network.code_dim == 8 and cfg.prior["std"] == 5
    recon = cfg.optim["recon"]
    assert recon.lr == 0.001 and cfg.network.hidden == [64, 32] and recon.name == "adam"
    assert cfg.recon_loss == "bce"  # bare words are strings
    assert isinstance(apply_overrides(Config(), ["optim.recon.lr=1"]).optim["recon"].lr, float)


@pytest.mark.parametrize(
    "item, msg",
    [
        ("modle=aae", "unknown config key 'modle'"),
        ("network.width=3", "unknown config key 'network.width'"),
        ("network.code_dim=two", "must be an integer"),
        ("network.batchnorm=1", "must be true or false"),
        ("network.hidden=5", "must be a list"),
        ("epochs", "expects key=value"),
        ("nope.deeper=1", "unknown config key 'nope'"),
    ],
)
def test_bad_overrides(item, msg):
    with pytest.raises(AAEError, match=msg):
        apply_overrides(Config(), [item])


def test_config_files(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('name = "mine"\nepochs = 3\n[network]\ncode_dim = 4\n[prior]\nname = "uniform"\n')
    cfg = load_config_file(p)
    assert cfg.name == "mine" and cfg.network.code_dim == 4 and cfg.prior == {"name": "uniform"}
    j = tmp_path / "c.json"
    j.write_text(json.dumps(cfg.to_dict()))
    assert load_config_file(j) == cfg
    (tmp_path / "bad.toml").write_text("epochs = = 3")
    with pytest.raises(AAEError, match="cannot parse"):
        load_config_file(tmp_path / "bad.toml")
    (tmp_path / "k.toml").write_text("epoch = 3")
    with pytest.raises(AAEError, match="unknown config key"):
        load_config_file(tmp_path / "k.toml")
    with pytest.raises(AAEError, match="not found"):
        load_config_file(tmp_path / "missing.toml")


def test_round_trip_through_dict():
    for name in PRESETS:
        cfg = get_preset(name)
        assert from_dict(Config, cfg.to_dict()) == cfg


def test_every_preset_round_trips_through_json_and_toml_files(tmp_path):
    """The families' tables ([wae], [semisupervised], ...) are written and read back as top-level tables."""
    from aae.sweep.toml import write_config_toml

    for name in PRESETS:
        cfg = get_preset(name)
        save_config(cfg, tmp_path / "c.json")
        write_config_toml(cfg, tmp_path / "c.toml")
        assert load_config_file(tmp_path / "c.json") == cfg == load_config_file(tmp_path / "c.toml"), name


def test_unknown_preset():
    with pytest.raises(AAEError, match="unknown preset 'mnist-gauss'"):
        get_preset("mnist-gauss")


def test_an_unknown_set_key_is_answered_with_the_nearest_known_keys():
    cfg = get_preset("mnist-gaussian-2d")
    with pytest.raises(AAEError, match=r"unknown config key 'lr' .*did you mean optim\.recon\.lr, optim\.disc\.lr"):
        apply_overrides(cfg, ["lr=1e-3"])
    with pytest.raises(AAEError, match=r"did you mean epochs\?"):
        apply_overrides(cfg, ["epoch=3"])
    # the families' tables come in the registry's order, alphabetical by family
    with pytest.raises(AAEError, match=r"did you mean clustering\.vat_eps, semisupervised\.vat_eps\?"):
        apply_overrides(cfg, ["vat_eps=1"])
    with pytest.raises(AAEError, match=r"'network.hiden'.*did you mean network\.hidden"):
        apply_overrides(cfg, ["network.hiden=[3]"])
    with pytest.raises(AAEError) as e:
        apply_overrides(cfg, ["zzz=1"])
    assert "did you mean" not in str(e.value)
    assert "`aae config PRESET` lists every key" in str(e.value)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_key_of_every_preset_says_what_it_means_and_the_listing_reads_back(name):
    import tomllib

    from aae.config.describe import annotated_toml, key_notes

    cfg = get_preset(name)
    notes = key_notes(cfg)
    assert not [k for k, v in notes.items() if v.startswith("(")], "keys without a meaning in the schema"
    text = annotated_toml(cfg)
    assert from_dict(Config, tomllib.loads(text)).to_dict() == cfg.to_dict()  # aae train reads it back as it was


def test_the_listing_marks_what_the_preset_changes():
    from aae.config.describe import annotated_toml

    lines = annotated_toml(apply_overrides(get_preset("mnist-vat-100"), ["seed=3"])).splitlines()
    assert 'name = "adam"  # sgd | adam (str); default "sgd"' in lines
    assert any(
        line.startswith("seed = 3  # weight initialisation") and line.endswith("(int); default 0") for line in lines
    )
    assert "[optim.classify]  # the optimizer of the 'classify' phase" in lines


def test_config_command_prints_the_resolved_config(capsys):
    from aae.cli import main

    assert main(["config", "mnist-gaussian-2d", "--set", "epochs=3"]) == 0
    out = capsys.readouterr().out
    assert "epochs = 3  # passes over the training split (int); default 20" in out and "[optim.recon]" in out
    assert main(["config", "mnist-gaussian-2d", "--set", "epochs=0"]) == 2
    assert "config key 'epochs'" in capsys.readouterr().err
