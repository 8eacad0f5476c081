"""A whole training job through the library (rnncli.train.job): what it starts from, where the
checkpoint goes, what is kept when it is stopped, and what a finished run leaves behind."""

import numpy as np
import pytest

from rnncli.config.schema import load_config
from rnncli.errors import ConfigError, ModelError, UsageError
from rnncli.store import model_folder, remembered
from rnncli.train import job
from rnncli.train.checkpoint import load_checkpoint
from rnncli.train.loop import Interrupted, StopFlag


def test_a_job_writes_its_model_folder_and_remembers_it(tiny_config, tmp_path):
    saved = job.run(tiny_config, overrides=["train.epochs=2"], out=tmp_path / "m")
    assert saved.path == (tmp_path / "m").resolve()
    assert remembered.last_model() == saved.path
    loaded = model_folder.load(saved.path)
    assert len(loaded.history) == 2
    for n, W in saved.model.params.items():
        np.testing.assert_array_equal(loaded.model.params[n], W, err_msg=n)


def test_a_stopped_job_checkpoints_beside_its_output_and_resumes_to_the_same_weights(
        tiny_config, tmp_path):
    whole = job.run(tiny_config, out=tmp_path / "whole")
    stop = StopFlag()
    stop(15)  # SIGTERM before the first window: the job stops after it
    with pytest.raises(Interrupted) as e:
        job.run(tiny_config, out=tmp_path / "cut", stop=stop)
    assert e.value.path == job.checkpoint_path(tmp_path / "cut").resolve()
    assert e.value.path.name == "cut.checkpoint" and e.value.signum == 15
    assert not (tmp_path / "cut").exists()
    assert load_checkpoint(e.value.path).position.window == 1
    resumed = job.run(resume=e.value.path)
    assert resumed.path == (tmp_path / "cut").resolve()
    assert not e.value.path.exists()  # a finished run's checkpoint is removed
    for n, W in whole.model.params.items():
        np.testing.assert_array_equal(resumed.model.params[n], W, err_msg=n)


def test_resume_takes_nothing_but_the_checkpoint(tiny_config, tmp_path):
    for given in ({"config": tiny_config}, {"overrides": ["train.epochs=1"]},
                  {"init_from": tmp_path}):
        with pytest.raises(UsageError, match="--resume takes the config from the checkpoint"):
            job.run(resume=tmp_path, **given)


def test_a_config_object_runs_and_fine_tuning_keeps_the_architecture(tiny_config, tiny_model,
                                                                      tmp_path):
    config = load_config(tiny_config, ["train.epochs=1"])
    tuned = job.run(config, out=tmp_path / "tuned", init_from=tiny_model)
    assert tuned.run["fine_tuned_from"]["path"] == str(tiny_model)
    assert tuned.config.output == str((tmp_path / "tuned").resolve())
    other = load_config(tiny_config, ["train.epochs=1", "model.hidden=7"])
    with pytest.raises(ConfigError, match="model.hidden: 7, but the model to fine-tune has 32"):
        job.run(other, out=tmp_path / "other", init_from=tiny_model)
    assert not (tmp_path / "other").exists()
    with pytest.raises(ConfigError, match="overrides apply to a config file"):
        job.run(config, overrides=["train.epochs=2"])


def test_an_output_that_cannot_be_written_is_refused_before_training(tiny_config, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    with pytest.raises(ModelError, match="exists and is not an rnncli model folder"):
        job.plan(tiny_config, out=tmp_path / "mine")
    planned = job.plan(tiny_config, out=tmp_path / "m")
    assert planned.checkpoint_path == tmp_path / "m.checkpoint"
    assert planned.resume is None and planned.init is None
