"""Training on N MPI ranks: the model one process trains, and jobs that end rather than hang.

These start real jobs with the mpiexec the `mpi` extra installs (mpich) beside this Python;
`make test` installs it. Tiny models and a few epochs keep each job to a second or two.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from rnncli.config.schema import config_from_dict
from rnncli.nn.dropout import StreamMasks

MPIEXEC = Path(sys.executable).parent / "mpiexec"
try:
    import mpi4py  # noqa: F401
    HAVE_MPI = MPIEXEC.exists()
except ImportError:
    HAVE_MPI = False
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="needs the mpi extra: pip install "
                               "'.[test,mpi]' (make test installs it)")

# Weights of N ranks against one process's: the sums of a window's gradients are taken in
# another order (per rank, then over the ranks), so float32 results differ in the last bits,
# and the differences grow a little over the windows. Measured: at most 3.6e-7 after 124 windows
# (weights up to 1.8); asserted: 1e-5 + 1e-4 |w|, far below what training moves them (> 1e-2).
ATOL, RTOL = 1e-5, 1e-4

VARIANTS = {
    "rnn": {"cell": "rnn", "embedding": 8, "hidden": 12, "layers": 2, "dropout": 0.3},
    "lstm": {"cell": "lstm", "embedding": 10, "hidden": 10, "dropout": 0.3,
             "tie_weights": True},
    "gru-nt": {"cell": "gru", "embedding": 8, "hidden": 8},
}
TRAIN = {"gru-nt": {"average": "nt", "epochs": 3}}  # NT-ASGD: the ranks average alike


def trigger_at_once():
    """NT-ASGD's trigger, fired by the first check, so that a 3-epoch run averages for 2
    (its rule has its own tests in test_averaging); variants without `average: nt` never ask."""
    from rnncli.train import loop
    loop.nonmonotone = lambda valid, nonmono: True


def variant_config(name, corpus):
    return config_from_dict({
        "data": {"train": [str(corpus)], "valid_fraction": 0.1},
        "model": VARIANTS[name],
        "train": {"epochs": 2, "batch_size": 6, "bptt": 5, "lr": 1.0, "clip": 0.5,
                  "momentum": 0.5, **TRAIN.get(name, {})}})


def write_corpus(path, n_lines=300):
    rng = random.Random(0)
    words = [f"w{i}" for i in range(40)]
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(3, 9)))
             for _ in range(n_lines)]
    path.write_text("\n".join(lines) + "\n")
    return path


def job_env(tmp_path, **extra):
    return {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "RNNCLI_THREADS": "1",
            **extra}


def mpiexec(n, *args):
    return [str(MPIEXEC), "-n", str(n), sys.executable, *map(str, args)]


def test_a_streams_masks_do_not_depend_on_the_streams_beside_it():
    whole = StreamMasks(7, range(6)).at(2, 5)
    part = StreamMasks(7, range(2, 4)).at(2, 5)
    for shape in [(5, 6, 8), (5, 6, 3)]:  # two draws in a row, as two dropout layers make
        a = whole.random(shape, dtype=np.float32)  # (T, 6, D)
        b = part.random((shape[0], 2, shape[2]), dtype=np.float32)  # (T, 2, D)
        np.testing.assert_array_equal(a[:, 2:4], b)
    again = StreamMasks(7, range(6)).at(2, 5).random((5, 6, 8), dtype=np.float32)
    later = StreamMasks(7, range(6)).at(2, 6).random((5, 6, 8), dtype=np.float32)
    assert np.array_equal(again, StreamMasks(7, range(6)).at(2, 5).random((5, 6, 8),
                                                                         dtype=np.float32))
    assert not np.array_equal(again, later)  # each window draws afresh
    assert not np.array_equal(again[:, 0], again[:, 1])  # and each stream


@pytest.mark.slow  # an MPI job: mpiexec starts 2 or 3 Python processes
@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_n_ranks_train_the_model_one_process_trains(tmp_path, n, monkeypatch):
    from rnncli.nn.model import RNNLM
    from rnncli.train import loop
    from rnncli.train.loop import prepare, train

    monkeypatch.setattr(loop, "nonmonotone", lambda valid, nonmono: True)  # trigger_at_once
    corpus = write_corpus(tmp_path / "c.txt")
    run = subprocess.run(mpiexec(n, Path(__file__).with_name("mpi_train.py"), tmp_path, corpus,
                                 *VARIANTS), env=job_env(tmp_path), capture_output=True,
                         text=True, timeout=180)
    assert run.returncode == 0, run.stderr
    for name in VARIANTS:
        config = variant_config(name, corpus)
        one = train(config).model.params
        ranks = np.load(tmp_path / f"{name}.npz")
        start = RNNLM.from_config(config.model, len(prepare(config).vocab),
                                  seed=config.train.seed).params
        assert set(ranks) == set(one)
        for p in one:
            np.testing.assert_allclose(ranks[p], one[p], atol=ATOL, rtol=RTOL, err_msg=p)
        moved = max(float(np.abs(one[p] - start[p]).max()) for p in one)
        assert moved > 1e-2, moved  # the comparison is not between untrained weights


def cli_job(tmp_path, n, *args, **env):
    (tmp_path / "c.yaml").write_text(
        "data: {train: c.txt, valid_fraction: 0.1}\n"
        "model: {cell: lstm, embedding: 8, hidden: 8, dropout: 0.2}\n"
        # lr_decay 1: a decay decided on validation perplexities equal to the last bits (this
        # one's summed over ranks) could fall in another epoch, which is not what is tested
        f"train: {{epochs: {env.pop('epochs', 2)}, batch_size: 6, bptt: 5, lr: 0.5, "
        "lr_decay: 1.0}\n")
    write_corpus(tmp_path / "c.txt")
    return subprocess.Popen(mpiexec(n, "-m", "rnncli", *args), cwd=tmp_path,
                            env=job_env(tmp_path, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.slow  # an MPI job: mpiexec starts 2 or 3 Python processes
@needs_mpi
def test_rank_0_alone_prints_and_writes(tmp_path):
    job = cli_job(tmp_path, 2, "train", "c.yaml", "--out", "m")
    out, err = job.communicate(timeout=120)
    assert job.returncode == 0, err
    assert out == f"{tmp_path / 'm'}\n"  # one path, once
    assert err.count("training on") == 1 and err.count("model written to") == 1
    assert err.splitlines()[0].startswith("2 ranks (MPI), pid@host: 0: ")
    assert json.loads((tmp_path / "m" / "model.json").read_text())["config"]["train"][
        "batch_size"] == 6

    job = cli_job(tmp_path, 4, "train", "c.yaml", "--out", "m4")  # 6 streams, 4 ranks
    out, err = job.communicate(timeout=120)
    assert job.returncode == 1
    assert err == ("Error: train.batch_size: 6 streams cannot be dealt out evenly to 4 ranks: "
                   "make it a multiple of 4\n")
    assert out == "" and not (tmp_path / "m4").exists()


def wait_for(job, prefix):
    """Read the job's stderr up to a line starting with prefix; return the lines read."""
    lines = []
    for line in job.stderr:
        lines.append(line)
        if line.startswith(prefix):
            return lines
    raise AssertionError("".join(lines))


def pid_of_rank(lines, rank):
    where = next(line for line in lines if "ranks (MPI), pid@host:" in line)
    pairs = where.split("pid@host: ")[1].strip().split(", ")
    return int(dict(p.split(": ") for p in pairs)[str(rank)].split("@")[0])


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A 2-rank job stopped by SIGTERM to mpiexec: its checkpoint, and the weights of one process
    that trained the same config never stopped (made once, resumed by each test below)."""
    from rnncli.config.schema import load_config
    from rnncli.train.loop import train

    where = tmp_path_factory.mktemp("interrupted")
    job = cli_job(where, 2, "train", "c.yaml", "--out", "cut", epochs=30)
    try:
        wait_for(job, "epoch  2/30")
        job.send_signal(signal.SIGTERM)  # to mpiexec, which passes it on to every rank
        out, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode == 143, err
    checkpoint = where / "cut.checkpoint"
    assert err.count(f"resume with: rnncli train --resume {checkpoint}") == 1
    assert out == "" and not (where / "cut").exists()
    one = train(load_config(where / "c.yaml")).model.params  # one process, never stopped
    return checkpoint, one


@pytest.mark.slow  # an MPI job: mpiexec starts 2 or 3 Python processes
@needs_mpi
@pytest.mark.parametrize("resume_on", [1, 2, 3])
def test_sigterm_to_mpiexec_checkpoints_and_any_number_of_ranks_resumes(tmp_path, interrupted,
                                                                        resume_on):
    written, one = interrupted
    checkpoint = tmp_path / "cut.checkpoint"
    shutil.copytree(written, checkpoint)
    # each rank reads the checkpoint's weights in another order (safetensors gives a dict whose
    # order changes from process to process): resuming on 2 ranks as well as on 1 and 3
    command = ["-m", "rnncli", "train", "--resume", checkpoint, "--out", tmp_path / "cut"]
    job = subprocess.Popen(mpiexec(resume_on, *command) if resume_on > 1 else
                           [sys.executable, *map(str, command)], cwd=tmp_path,
                           env=job_env(tmp_path), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    out, err = job.communicate(timeout=180)
    assert job.returncode == 0, err
    assert not checkpoint.exists()
    resumed = load_file(str(tmp_path / "cut" / "model.safetensors"))
    for p in one:
        np.testing.assert_allclose(resumed[p], one[p], atol=ATOL, rtol=RTOL, err_msg=p)


@pytest.mark.slow  # an MPI job: mpiexec starts 2 or 3 Python processes
@needs_mpi
@pytest.mark.parametrize("how", ["killed", "stopped"])
def test_a_rank_that_dies_or_hangs_ends_the_job(tmp_path, how):
    job = cli_job(tmp_path, 2, "train", "c.yaml", "--out", "m", epochs=1000,
                  RNNCLI_MPI_TIMEOUT="2")
    try:
        lines = wait_for(job, "epoch    1/1000")
        rank1 = pid_of_rank(lines, 1)
        os.kill(rank1, signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        started = time.monotonic()
        out, err = job.communicate(timeout=60)
        took = time.monotonic() - started
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
    assert job.returncode != 0
    assert took < 30
    assert not (tmp_path / "m").exists()
    if how == "killed":  # mpiexec ends the job at once, naming the pid rank 0 printed
        assert f"PID {rank1} " in out + err
    else:  # nothing ends it but the ranks' own deadline
        assert ("Error: rank 1 stopped answering: a sum over the ranks waited 2 s "
                "(RNNCLI_MPI_TIMEOUT); ending the job") in err


ONE_RANK_FAILS = """
import numpy as np
from rnncli.train import distributed
from rnncli.errors import DataError
comm = distributed.world()
distributed.ready(comm)  # training under way
try:
    if comm.rank == 1:
        raise DataError("c.txt: cannot read")
    comm.allreduce(np.zeros(3))  # rank 0 would wait here for ever
except Exception as e:
    distributed.settle(comm, e)
"""


@pytest.mark.slow  # an MPI job: mpiexec starts 2 or 3 Python processes
@needs_mpi
def test_an_error_in_one_rank_during_training_ends_every_rank(tmp_path):
    run = subprocess.run(mpiexec(2, "-c", ONE_RANK_FAILS), env=job_env(tmp_path),
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert run.stderr.startswith("Error: rank 1: c.txt: cannot read\n")


def test_plain_train_never_imports_mpi4py(tiny_config, tmp_path):
    code = ("import sys\nfrom rnncli.cli import main\nsys.argv = ['rnncli', 'train', "
            f"{str(tiny_config)!r}, '--out', {str(tmp_path / 'm')!r}]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
            "print('mpi4py' in sys.modules)\n")
    env = {k: v for k, v in job_env(tmp_path).items() if k not in ("PMI_SIZE", "PMI_RANK")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "False"
