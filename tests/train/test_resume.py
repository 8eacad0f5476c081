"""Never lose work: a real `rnncli train` process stopped by a signal mid-run, then resumed,
ends with the same weights, bit for bit, as a run never interrupted."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import load_file
from training import CopyMidRun

from rnncli.store.metrics import perplexity


@pytest.fixture
def workdir(tmp_path):
    rng = random.Random(0)
    words = [f"w{i}" for i in range(300)]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 12))) for _ in range(3000)]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "c.yaml").write_text(
        "data: {train: c.txt, valid_fraction: 0.05}\n"
        "model: {cell: lstm, embedding: 24, hidden: 24, layers: 2, dropout: 0.2}\n"
        "train: {epochs: 4, batch_size: 8, bptt: 12, lr: 0.5, momentum: 0.5}\n")
    return tmp_path


def rnncli(workdir, *args, **kwargs):
    env = {**os.environ, "XDG_STATE_HOME": str(workdir / "state"), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "rnncli", *map(str, args)], cwd=workdir,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


@pytest.mark.slow  # three training processes per signal, 3,000 lines, a 2-layer LSTM
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_and_resumed_run_equals_an_uninterrupted_one(workdir, signum, status):
    whole = rnncli(workdir, "train", "c.yaml", "--out", "whole")
    assert whole.wait(timeout=120) == 0, whole.stderr.read()

    run = rnncli(workdir, "train", "c.yaml", "--out", "cut")
    for line in run.stderr:  # wait for the end of the first epoch, then a little more
        if line.startswith("epoch 1/4"):
            break
    time.sleep(0.3)
    run.send_signal(signum)
    assert run.wait(timeout=60) == status
    err = run.stderr.read()
    checkpoint = workdir / "cut.checkpoint"
    assert f"resume with: rnncli train --resume {checkpoint}" in err
    assert not (workdir / "cut").exists()
    position = json.loads((checkpoint / "checkpoint.json").read_text())["position"]
    assert (position["epoch"], position["window"]) > (1, 0)  # stopped after epoch 1 began

    resumed = rnncli(workdir, "train", "--resume", checkpoint)
    assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    assert not checkpoint.exists()  # a finished run's checkpoint is removed
    a, b = weights(workdir / "whole"), weights(workdir / "cut")
    assert set(a) == set(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    history_a = json.loads((workdir / "whole" / "model.json").read_text())["history"]
    history_b = json.loads((workdir / "cut" / "model.json").read_text())["history"]
    assert [perplexity(r) for r in history_a] == [perplexity(r) for r in history_b]


def test_resume_refuses_a_config_too_and_a_folder_that_is_not_a_checkpoint(workdir):
    run = rnncli(workdir, "train", "c.yaml", "--resume", workdir)
    assert run.wait(timeout=60) == 2  # a usage error
    assert run.stderr.read().startswith("Error: --resume takes the config from the checkpoint")
    run = rnncli(workdir, "train", "--resume", workdir)
    assert run.wait(timeout=60) == 1
    assert "not an rnncli checkpoint folder" in run.stderr.read()


def test_periodic_checkpoints_resume_to_the_same_weights(tiny_config, tmp_path):
    """train.checkpoint_every: a checkpoint every N steps that, taken mid-run (as a crash would
    leave it), resumes to the weights of the run that wrote it."""

    from rnncli.config.schema import load_config
    from rnncli.train.checkpoint import load_checkpoint
    from rnncli.train.loop import train

    cfg = load_config(tiny_config, ["train.epochs=4", "train.checkpoint_every=4",
                                    "train.momentum=0.5"])
    ckpt, copy = tmp_path / "ck", tmp_path / "crash"

    plain = train(load_config(tiny_config, ["train.epochs=4", "train.momentum=0.5"]))
    whole = train(cfg, CopyMidRun(ckpt, copy), checkpoint_path=ckpt)
    position = load_checkpoint(copy).position
    assert (position.epoch, position.window) < (3, 2) and position.epoch >= 2
    resumed = train(cfg, resume=load_checkpoint(copy))
    for name, W in whole.model.params.items():
        np.testing.assert_array_equal(W, plain.model.params[name])  # checkpoints change nothing
        np.testing.assert_array_equal(resumed.model.params[name], W)
    assert [perplexity(r) for r in resumed.history] == [perplexity(r) for r in whole.history]
