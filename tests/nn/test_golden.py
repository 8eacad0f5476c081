"""rnncli against PyTorch: golden vectors made once by tests/make_golden.py (no torch needed
here), and, when torch is importable, a live comparison of an exported model."""

import json
from pathlib import Path

import numpy as np
import pytest

from rnncli.nn import layers
from rnncli.nn.model import RNNLM
from rnncli.store.export import from_torch, to_torch

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CELLS = ["rnn", "lstm", "gru"]


def load(cell):
    with np.load(GOLDEN / f"{cell}.npz", allow_pickle=False) as f:
        return dict(f)


def rnncli_model(cell, g):
    torch_state = {k: v for k, v in g.items() if k.split(".")[0] in ("encoder", "rnn", "decoder")}
    layers_ = 1 + max(int(k[-1]) for k in torch_state if k.startswith("rnn."))
    return RNNLM(from_torch(torch_state, cell, layers_), cell, layers_), torch_state


@pytest.mark.parametrize("cell", CELLS)
def test_logits_loss_and_gradients_match_pytorch(cell):
    g = load(cell)
    model, torch_state = rnncli_model(cell, g)
    n_layers = model.n_layers
    state0 = [((g["h0"][k], g["c0"][k]) if cell == "lstm" else (g["h0"][k],))
              for k in range(n_layers)]
    T, B = g["inputs"].shape

    hs, _ = model.run(g["inputs"], state0, None)
    logits = model.logits(hs.reshape(T * B, model.H))
    np.testing.assert_allclose(logits, g["logits"], rtol=1e-5, atol=1e-10)

    loss, grads, _ = model.loss_and_grads(g["inputs"], g["targets"], state0, None)
    assert loss == pytest.approx(float(g["loss"]), rel=1e-5)
    grads = {n: (d.dense() if isinstance(d, layers.RowGrad) else d) for n, d in grads.items()}
    as_torch = to_torch(RNNLM(grads, cell, n_layers), np.float64)  # renamed as the weights
    for name in torch_state:
        got = as_torch[name]
        if name.startswith("rnn.bias_hh") and cell != "gru":  # one bias b_h stands for both,
            got = as_torch[name.replace("bias_hh", "bias_ih")]  # so both have its gradient
        np.testing.assert_allclose(got, g[f"grad.{name}"], rtol=1e-5, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_export_round_trip(cell):
    g = load(cell)
    model, _ = rnncli_model(cell, g)
    back = from_torch(to_torch(model, np.float64), cell, model.n_layers)
    assert set(back) == set(model.params)
    for name, W in model.params.items():
        np.testing.assert_array_equal(back[name], W, err_msg=name)


@pytest.mark.parametrize("cell", CELLS)
def test_exported_model_gives_pytorchs_probabilities_live(cell, tmp_path):
    """Train a small model, export it, load it into PyTorch's modules, compare probabilities."""
    torch = pytest.importorskip("torch")
    from safetensors import safe_open
    from safetensors.numpy import load_file

    from rnncli.config.schema import load_config
    from rnncli.store.export import export
    from rnncli.train.loop import train

    (tmp_path / "c.txt").write_text("the cat sat on the mat .\nthe dog sat on the log .\n" * 8)
    (tmp_path / "c.yaml").write_text(
        f"data: {{train: c.txt, valid_fraction: 0}}\n"
        f"model: {{cell: {cell}, embedding: 6, hidden: 6, layers: 2, tie_weights: true}}\n"
        f"train: {{epochs: 2, batch_size: 2, bptt: 5, reset_at_eos: false}}\n")
    saved = train(load_config(tmp_path / "c.yaml"))
    path = export(saved, tmp_path / "torch.safetensors")
    state = {k: torch.from_numpy(v) for k, v in load_file(str(path)).items()}
    with safe_open(str(path), framework="numpy") as f:
        vocab = json.loads(f.metadata()["vocab"])
    assert vocab == saved.vocab.itos

    V, E, H = len(vocab), 6, 6
    rnn_class = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    encoder, rnn, decoder = torch.nn.Embedding(V, E), rnn_class(E, H, 2), torch.nn.Linear(H, V)
    for prefix, module in (("encoder", encoder), ("rnn", rnn), ("decoder", decoder)):
        module.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items()
                                if k.startswith(prefix + ".")})
    ids = saved.vocab.encode("the cat sat on the".split())
    with torch.no_grad():
        out, _ = rnn(encoder(torch.from_numpy(ids.astype(np.int64))[:, None]))
        torch_probs = torch.softmax(decoder(out[-1, 0]), -1).numpy()
    hs, _ = saved.model.run(ids[:, None], saved.model.zero_state(1), None)
    probs = np.exp(layers.log_softmax(saved.model.logits(hs[-1])))[0]
    np.testing.assert_allclose(probs, torch_probs, rtol=1e-4, atol=1e-6)
