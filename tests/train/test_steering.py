"""Training one can steer and watch: optimisers in checkpoints, stopping rules, the run log,
samples while training, fine-tuning."""

import json
import shutil

import numpy as np
import pytest
from clirun import run

from rnncli.config.schema import load_config
from rnncli.store import model_folder
from rnncli.store.metrics import perplexity
from rnncli.train.checkpoint import load_checkpoint
from rnncli.train.loop import Silent, train


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_a_resumed_adaptive_run_ends_bit_exact(tiny_config, tmp_path, optimizer):
    sets = ["train.epochs=3", f"train.optimizer={optimizer}", "train.lr=0.01",
            "train.log_every=2"]
    cfg = load_config(tiny_config, [*sets, "train.checkpoint_every=3"])
    ckpt, copy = tmp_path / "ck", tmp_path / "crash"

    class CopyMidRun(Silent):
        def step(self, epoch, window, loss, tokens):
            if epoch == 2 and window == 2:  # as if the machine stopped here
                shutil.copytree(ckpt, copy)

    whole = train(cfg, CopyMidRun(), checkpoint_path=ckpt)
    checkpoint = load_checkpoint(copy)
    assert any(k.startswith("exp_avg" if optimizer == "adam" else "square_avg")
               for k in checkpoint.optimizer)
    resumed = train(cfg, resume=checkpoint)
    for name, W in whole.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[name], W, err_msg=name)
    drop_time = lambda lines: [{k: v for k, v in x.items() if k not in ("seconds",  # noqa: E731
                                                                         "tokens_per_s")}
                               for x in lines]
    assert drop_time(resumed.metrics) == drop_time(whole.metrics)


def test_the_run_log_has_the_lines_it_promises(tiny_config, tmp_path):
    saved = train(load_config(tiny_config, ["train.epochs=2", "train.log_every=3"]))
    path = model_folder.save(saved, tmp_path / "m")
    lines = [json.loads(x) for x in (path / "metrics.jsonl").read_text().splitlines()]
    steps = [x for x in lines if x["kind"] == "step"]
    epochs = [x for x in lines if x["kind"] == "epoch"]
    assert [x["epoch"] for x in epochs] == [1, 2]
    assert [x["step"] for x in steps] == list(range(3, epochs[-1]["step"] + 1, 3))
    assert set(steps[0]) == {"kind", "step", "epoch", "tokens", "loss", "grad_norm",
                             "clipped", "lr", "tokens_per_s", "seconds"}
    assert steps[0]["tokens"] == 3 * 4 * 8  # 3 windows of batch 4 x bptt 8
    assert all(x["clipped"] == (x["grad_norm"] > 1.0) for x in steps)  # train.clip is 1
    assert perplexity(epochs[-1]) == perplexity(saved.history[-1])
    assert json.loads((path / "model.json").read_text())["run"]["stopped"]["reason"] == "epochs"


def test_patience_stops_after_epochs_without_improvement(tiny_config):
    """The loop asks the stopping rule after every epoch (the rule itself, on synthetic
    histories: test_stopping.py)."""
    # steps of 1e-30 leave every float32 weight as it is: no epoch improves on the first
    # (patience needs validation text: a fifth of the lines are held out)
    saved = train(load_config(tiny_config, ["train.epochs=30", "train.patience=2",
                                            "train.lr=1e-30", "train.lr_decay=1",
                                            "data.valid_fraction=0.2"]))
    history, stopped = saved.history, saved.run["stopped"]
    assert stopped["reason"] == "patience" and stopped["epoch"] == 3
    assert len(history) == 3  # two epochs after the best one, and no more


def test_min_lr_stops_once_decay_takes_lr_below_it(tiny_config):
    # steps of 1e-30 leave every float32 weight as it is, so from the second epoch on the
    # validation perplexity is the first epoch's, never better: lr halves after each epoch,
    # whatever the CPU's BLAS kernels (a run whose perplexity moves decays when it will)
    saved = train(load_config(tiny_config, ["train.epochs=40", "train.min_lr=1e-31",
                                            "train.lr_decay=0.5", "train.lr=1e-30"]))
    assert saved.run["stopped"]["reason"] == "min_lr"
    assert [r["lr"] for r in saved.history] == [1e-30, 1e-30, 5e-31, 2.5e-31, 1.25e-31]
    assert len({perplexity(r) for r in saved.history}) == 1  # no epoch improved on the first


def test_max_time_stops_at_the_first_window_past_it_keeping_the_best(tiny_config):
    saved = train(load_config(tiny_config, ["train.epochs=50", "train.max_time=0.000000001s",
                                            "train.log_every=1"]))
    assert saved.run["stopped"]["reason"] == "max_time"
    assert len(saved.history) == 1 and saved.history[0]["partial"]
    assert [x["kind"] for x in saved.metrics] == ["step", "epoch"]  # one window, then stop


def test_sample_prompts_are_completed_after_every_epoch(tiny_config, tmp_path):
    result = run("train", tiny_config, "--set", "train.epochs=2", "--set",
                 "train.sample_prompts=[the cat sat, a bird]", "--out", tmp_path / "m")
    assert result.exit_code == 0, result.stderr
    samples = [x for x in result.stderr.splitlines() if x.startswith("  sample: ")]
    assert len(samples) == 4 and samples[0].startswith("  sample: the cat sat -> ")
    quiet = run("train", tiny_config, "--set", "train.epochs=1", "--out", tmp_path / "q")
    assert "sample:" not in quiet.stderr  # off by default


def test_fine_tuning_starts_from_the_weights_and_keeps_the_vocabulary(tiny_model, tmp_path):
    (tmp_path / "new.txt").write_text("the cat sat on the zebra .\n" * 30)
    (tmp_path / "ft.yaml").write_text("data: {train: new.txt, valid_fraction: 0}\n"
                                      "train: {epochs: 1, batch_size: 2, bptt: 4, lr: 1e-6}\n")
    out = tmp_path / "ft"
    result = run("train", tmp_path / "ft.yaml", "--init-from", tiny_model, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "12.50% of the training tokens are <unk>" in result.stderr  # zebra: 1 in 8 (<eos>)
    base, tuned = model_folder.load(tiny_model), model_folder.load(out)
    assert tuned.vocab.itos == base.vocab.itos
    for name, W in base.model.params.items():  # a tiny lr: close to where it started
        assert not np.array_equal(tuned.model.params[name], W) or name == "W_emb"
        np.testing.assert_allclose(tuned.model.params[name], W, atol=1e-4)
    assert tuned.run["fine_tuned_from"]["path"] == str(tiny_model)


@pytest.mark.parametrize("sets, key", [(["model.hidden=8"], "model.hidden"),
                                       (["model.cell=lstm"], "model.cell"),
                                       (["data.tokenizer=char"], "data.tokenizer")])
def test_fine_tuning_refuses_another_architecture_naming_the_key(tiny_model, tiny_config,
                                                                 sets, key):
    result = run("train", tiny_config, "--init-from", tiny_model,
                 *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: --set: {key}: ") and "fine-tuning keeps" in line


@pytest.mark.parametrize("sets, message", [
    (["train.optimizer=lbfgs"], "train.optimizer: must be one of sgd, adam"),
    (["train.optimizer=adam", "train.momentum=0.9"], "train.momentum: adam has no momentum"),
    (["train.betas=[0.9]"], "train.betas: must be two numbers"),
    (["train.patience=0"], "train.patience: must be at least 1"),
    (["train.max_time=soon"], "train.max_time: expected a time"),
    (["train.min_lr=-1"], "train.min_lr: must be >= 0"),
    (["train.log_every=0"], "train.log_every: must be at least 1"),
])
def test_bad_steering_values_get_one_error_line(tiny_config, sets, message):
    result = run("train", tiny_config, *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: --set: ") and message in line, line


@pytest.mark.parametrize("sets, message", [
    (["train.min_lr=1", "train.lr=0.5"], "train.min_lr: 1 is above train.lr 0.5"),
    (["train.min_lr=0.1", "train.lr_decay=1"], "train.min_lr: can never be reached: "
                                               "train.lr_decay is 1"),
    (["train.patience=3"], "train.patience: needs validation text, and there is none: set "
                           "data.valid or data.valid_fraction"),
    (["train.max_tokens=35"], "train.max_tokens: 35 is less than one window of "
                              "train.batch_size 4 x (train.bptt 8 + 1) = 36 tokens"),
    (["data.valid=tiny.txt", "data.valid_fraction=0.1"],
     "data.valid_fraction: 0.1 of the lines would be held out, but data.valid names"),
    (["train.betas=[0.8, 0.9]"], "train.betas: is not used by train.optimizer sgd (only by "
                                 "adam and adamw)"),
    (["train.optimizer=adam", "train.alpha=0.9"], "train.alpha: is not used by "
                                                  "train.optimizer adam (only by rmsprop)"),
    (["train.eps=1e-6"], "train.eps: is not used by train.optimizer sgd"),
    (["model.cutoffs=[10]"], "model.cutoffs: counts only with model.softmax: adaptive, and "
                             "model.softmax is full"),
    (["model.forget_bias=1.0"], "model.forget_bias: counts only with model.cell: lstm, and "
                                "model.cell is rnn"),
])
def test_contradictory_settings_are_refused_before_any_work(tiny_config, sets, message):
    """Each setting is valid alone; together they are one Error line naming both keys, and
    nothing is written."""
    result = run("train", tiny_config, *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("Error: --set: ") and message in line, line
    assert not (tiny_config.parent / "model").exists()


def test_settings_that_agree_are_taken(tiny_config):
    """The limits of the checks above: equal lr and min_lr, a budget of one window, patience
    with held-out lines, betas for adam, a config that leaves cutoffs at their default."""
    for sets in (["train.min_lr=0.5", "train.lr=0.5"], ["train.max_tokens=36"],
                 ["train.patience=1", "data.valid_fraction=0.2"],
                 ["train.optimizer=adam", "train.betas=[0.8, 0.9]"]):
        load_config(tiny_config, sets)
