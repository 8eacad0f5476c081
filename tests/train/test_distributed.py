"""rnncli.train.distributed's sums over the ranks, with a communicator standing in for MPI."""

from dataclasses import dataclass, fields

import numpy as np

from rnncli.infer.evaluate import EvalTotals
from rnncli.train.distributed import sum_scores


class ThreeRanks:
    """Rank 0 of three: allreduce adds what ranks 1 and 2 hold to the caller's buffer."""

    rank, size = 0, 3

    def __init__(self, others: list[np.ndarray]):
        self.others = others  # what ranks 1 and 2 put into the sum, in the caller's order

    def allreduce(self, buf):
        buf += sum(self.others)


def as_buffer(scores) -> np.ndarray:
    return np.array([getattr(scores, f.name) for f in fields(scores) if f.name != "logp"],
                    dtype=np.float64)


def test_validation_scores_are_summed_field_by_field():
    mine = EvalTotals(tokens=10, nll=12.5, top1=3, top5=7, unk=1, unk_nll=2.0,
                      logp=np.zeros(10))
    theirs = [EvalTotals(20, 30.0, 5, 9, 2, 4.5), EvalTotals(5, 1.25, 1, 2, 0, 0.0)]
    total = sum_scores(ThreeRanks([as_buffer(s) for s in theirs]), mine)
    assert (total.tokens, total.top1, total.top5, total.unk) == (35, 9, 18, 3)
    assert (total.nll, total.unk_nll) == (43.75, 6.5)
    assert all(isinstance(getattr(total, n), int) for n in ("tokens", "top1", "top5", "unk"))
    assert total.logp is None  # one rank's per-target log-probabilities are not the sum's


def test_a_new_score_field_is_summed_too():
    """A metric added to EvalTotals takes part in distributed validation without a change
    to sum_scores (it sums by field name, not by position)."""

    @dataclass
    class WithMore(EvalTotals):
        top10: int = 0

    mine = WithMore(10, 12.5, 3, 7, 1, 2.0, top10=8)
    other = WithMore(20, 30.0, 5, 9, 2, 4.5, top10=15)
    total = sum_scores(ThreeRanks([as_buffer(other), as_buffer(other)]), mine)
    assert isinstance(total, WithMore)
    assert (total.tokens, total.top10, total.nll) == (50, 38, 72.5)


def test_one_rank_keeps_its_scores_as_they_are():
    class One:
        rank, size = 0, 1

    mine = EvalTotals(4, 2.0, 1, 2, 0, logp=np.ones(4))
    assert sum_scores(One(), mine) is mine
