"""A whole training job: from a config to a model folder on disk.

`run` (`plan`, then `execute`) decides what the loop (rnncli.train.loop.train) starts from
and what is kept after it:

1) where it starts: a config (a YAML file and `key.path=value` overrides, or a Config), a
   checkpoint to resume (`resume`: its own config, nothing else), or a model to fine-tune
   (`init_from`: its architecture and vocabulary, the config's corpus and training settings);
2) the output folder is checked before any training, and the checkpoint goes beside it
   (`checkpoint_path`: OUTPUT.checkpoint);
3) SIGINT and SIGTERM finish the current step and write that checkpoint (Interrupted);
4) a run that diverges keeps its best model so far in the output folder (Diverged says where);
5) a finished run writes the model folder, remembers it as the last model
   (rnncli.store.remembered) and removes its checkpoint.

With several ranks (rnncli.train.distributed), every rank calls `run` with the same arguments;
rank 0 alone writes.
"""

from __future__ import annotations

import dataclasses
import shutil
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rnncli.config.schema import ARCHITECTURE, Config, load_config
from rnncli.errors import ConfigError, UsageError
from rnncli.store import model_folder
from rnncli.store.model_folder import SavedModel
from rnncli.store.remembered import remember_last
from rnncli.train import distributed
from rnncli.train.checkpoint import Checkpoint, load_checkpoint
from rnncli.train.loop import Diverged, Interrupted, Reporter, StopFlag, train


def checkpoint_path(output: str | Path) -> Path:
    """Where a run writing the model folder `output` keeps its checkpoint: OUTPUT.checkpoint."""
    output = Path(output)
    return output.with_name(output.name + ".checkpoint")


@dataclass
class Job:
    """A training job set up and checked, ready to run (`plan`)."""
    config: Config
    checkpoint_path: Path  # where an interrupted run writes its checkpoint
    resume: Checkpoint | None = None  # the checkpoint it goes on from
    init: SavedModel | None = None  # fine-tuning: the model it starts from


def plan(config: Config | str | Path | None = None, *, overrides: Sequence[str] = (),
         out: str | Path | None = None, resume: str | Path | None = None,
         init_from: str | Path | None = None,
         comm: distributed.Communicator | None = None) -> Job:
    """Set a job up (steps 1 and 2 of the module's list) without training: read what it starts
    from and refuse, before any work, an output that cannot be written or streams that do not
    deal out to the ranks. The arguments are `run`'s."""
    comm = comm or distributed.Local()
    checkpoint, init = None, None
    if resume is not None:
        if config is not None or overrides or init_from is not None:
            raise UsageError("--resume takes the config from the checkpoint: give no CONFIG, "
                             "--set or --init-from")
        checkpoint = load_checkpoint(resume)
        cfg = checkpoint.config
        if out is not None:
            cfg.output = str(Path(out).resolve())
    else:
        init = model_folder.load(init_from) if init_from is not None else None
        cfg = _config(config, overrides, out, init)
    model_folder.check_output(cfg.output)
    distributed.Shard(comm, cfg.train.batch_size)  # the streams deal out evenly to the ranks
    return Job(cfg, checkpoint_path(cfg.output), checkpoint, init)


def run(config: Config | str | Path | None = None, *, overrides: Sequence[str] = (),
        out: str | Path | None = None, resume: str | Path | None = None,
        init_from: str | Path | None = None, reporter: Reporter | None = None,
        stop: StopFlag | None = None,
        comm: distributed.Communicator | None = None) -> SavedModel:
    """Train a model and write its folder; return it, its `path` the folder written.

    Args:
        config: a YAML file (None: the bundled demo) with `overrides` (`key.path=value`), or a
            Config. Not with `resume`.
        out: the model folder to write, over the config's `output`.
        resume: a checkpoint folder an interrupted run wrote; its config is the one used.
        init_from: fine-tuning: a model folder whose weights, vocabulary and architecture the
            run starts from.
        reporter: progress (rnncli.train.loop.Reporter); on rank 0 only.
        stop: set to stop at the end of the current step with a checkpoint; None: SIGINT and
            SIGTERM set one while the job runs (from the main thread).
        comm: this process's place among the ranks (rnncli.train.distributed.world()).
    Raises:
        Interrupted: stopped on request; its `path` is the checkpoint to resume from.
        Diverged: the loss stayed non-finite; the best model so far is kept in the output
            folder (on rank 0; the message says where).
        RnncliError: anything the user can put right (config, corpus, output folder).
    """
    job = plan(config, overrides=overrides, out=out, resume=resume, init_from=init_from,
               comm=comm)
    return execute(job, reporter=reporter, stop=stop, comm=comm)


def execute(job: Job, *, reporter: Reporter | None = None, stop: StopFlag | None = None,
            comm: distributed.Communicator | None = None) -> SavedModel:
    """Run a planned job (steps 3 to 5 of the module's list); the arguments are `run`'s."""
    comm = comm or distributed.Local()
    cfg = job.config
    lead = comm.rank == 0  # the one rank that writes
    # 3) the loop, stopped on request
    with _signals(stop) as stop:
        try:
            saved = train(cfg, reporter if lead else None, stop=stop,
                          checkpoint_path=job.checkpoint_path, resume=job.resume,
                          init=job.init, comm=comm)
        except Diverged as e:
            distributed.done(comm)
            if not lead or e.saved is None:
                raise
            # 4) the best model so far
            kept = model_folder.save(e.saved, cfg.output)
            remember_last(kept)
            raise Diverged(f"{e}; the best model so far is kept in {kept}", None) from None
        except Interrupted:
            distributed.done(comm)
            raise
    distributed.done(comm)
    if not lead:
        return saved
    # 5) the model folder; the checkpoint has served
    saved.path = model_folder.save(saved, cfg.output)
    remember_last(saved.path)
    if job.checkpoint_path.exists():
        shutil.rmtree(job.checkpoint_path, ignore_errors=True)
    return saved


def _config(config: Config | str | Path | None, overrides: Sequence[str],
            out: str | Path | None, init: SavedModel | None) -> Config:
    """The run's config: read from a file (or the defaults) with overrides, or a Config given;
    fine-tuning keeps the model's architecture and tokenisation."""
    if not isinstance(config, Config):
        return load_config(config, list(overrides), str(out) if out is not None else None,
                           init_from=None if init is None else init.config)
    if overrides:
        raise ConfigError("overrides apply to a config file; change the Config itself")
    if out is not None:
        config = dataclasses.replace(config, output=str(Path(out).resolve()))
    if init is not None:  # as load_config's init_from refuses another architecture
        for section, keys in ARCHITECTURE.items():
            for key in keys:
                mine, theirs = (getattr(getattr(c, section), key) for c in (config, init.config))
                if mine != theirs:
                    raise ConfigError(f"{section}.{key}: {mine!r}, but the model to fine-tune "
                                      f"has {theirs!r}; fine-tuning keeps the model's "
                                      "architecture and vocabulary")
    return config


@contextmanager
def _signals(stop: StopFlag | None) -> Iterator[StopFlag | None]:
    """The stop flag for the loop: the one given, or one SIGINT and SIGTERM set while the
    block runs (only the main thread can take signals; elsewhere there is none)."""
    if stop is not None or threading.current_thread() is not threading.main_thread():
        yield stop
        return
    stop = StopFlag()
    handlers = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
