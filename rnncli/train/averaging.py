"""Non-monotonically triggered averaged SGD, NT-ASGD (Merity, Keskar and Socher 2018,
"Regularizing and Optimizing LSTM Language Models"), for `train.average: nt`.

SGD runs as before until validation stops improving; from then on the weights after every
step are averaged, and the average is what is validated, kept as best and written:

    trigger   after check t (validation perplexities v_1 .. v_t, one per epoch):
              t - 1 > nonmono  and  v_t > min(v_1 .. v_(t-1-nonmono))
              (no better than the best of the checks more than `nonmono` checks ago)
    average   after every optimizer step k = 0, 1, ... from then on:
              avg <- avg + (W - avg) / (k + 1)      (avg = W at k = 0: the running mean
                                                     of the iterates since the trigger)

Every rank of a data-parallel run takes the same steps, so every rank averages the same
weights; the state (the average, its count, whether it runs) goes into checkpoints.
"""

from __future__ import annotations

import numpy as np

from rnncli.train.sgd import scratch_like


def nonmonotone(valid: list[float], nonmono: int) -> bool:
    """Whether the last of the validation perplexities `valid` (one per check, oldest first)
    triggers the averaging: it is worse than the best of the checks more than `nonmono` ago."""
    *earlier, now = valid
    old = earlier[:len(earlier) - nonmono]  # the checks more than nonmono before this one
    return len(earlier) > nonmono and now > min(old)


class Average:
    """The running mean of the parameters since the trigger (None before it).

    Args:
        params: name -> parameter array, the weights the optimiser updates in place
    """

    def __init__(self, params: dict[str, np.ndarray]):
        self.params = params
        self.avg: dict[str, np.ndarray] | None = None  # name -> mean, shaped like the param
        self.count = 0  # steps averaged
        self._scratch: dict[np.dtype, np.ndarray] = {}  # dtype -> flat, the biggest param

    @property
    def active(self) -> bool:
        return self.avg is not None

    def start(self) -> None:
        """The trigger: average every step from the next one on."""
        self.avg, self.count = {}, 0

    def step(self) -> None:
        """After an optimizer step: avg <- avg + (W - avg) / (k + 1); nothing before the
        trigger."""
        if self.avg is None:
            return
        k = self.count
        for name, W in self.params.items():
            avg = self.avg.get(name)
            if avg is None or k == 0:
                self.avg[name] = W.copy()  # k = 0: avg = W
                continue
            tmp = self._tmp(W)
            np.subtract(W, avg, out=tmp)  # W - avg
            tmp /= k + 1
            avg += tmp
        self.count = k + 1

    def swap(self) -> None:
        """Exchange the parameters' contents with the average's (twice: back as they were);
        nothing before the trigger or before its first step."""
        if not self.avg:
            return
        for name, W in self.params.items():
            avg = self.avg[name]
            tmp = self._tmp(W)
            tmp[...] = W
            W[...] = avg
            avg[...] = tmp

    def state(self) -> tuple[int | None, dict[str, np.ndarray]]:
        """(steps averaged, or None before the trigger; {name: average}): copies."""
        if self.avg is None:
            return None, {}
        return self.count, {n: a.copy() for n, a in self.avg.items()}

    def set_state(self, count: int | None, avg: dict[str, np.ndarray]) -> None:
        """Put `state()`'s output back; ValueError when an average does not fit the model."""
        if count is None:
            self.avg, self.count = None, 0
            return
        arrays = {}
        for name, a in avg.items():
            W = self.params.get(name)
            if W is None or np.shape(a) != W.shape:
                raise ValueError(f"average {name!r} does not fit this model")
            arrays[name] = np.array(a, dtype=W.dtype)  # a copy: ours to update in place
        if count > 0 and set(arrays) != set(self.params):
            raise ValueError("the average does not hold every parameter")
        self.avg, self.count = arrays, int(count)

    def _tmp(self, W: np.ndarray) -> np.ndarray:
        """A scratch array shaped like W, a view of one buffer shared by all parameters."""
        return scratch_like(self._scratch, self.params, W)
