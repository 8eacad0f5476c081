"""The network in NumPy: the three cells (rnn, lstm, gru, sharing cellparts, behind cells),
the layers around them (layers, adaptive_softmax), the model (model), dropout masks (dropout),
and the machinery that makes it fast (rowblocks: row blocks on every core; blas: how the BLAS
threads wait). No module here imports NumPy at package import time."""
