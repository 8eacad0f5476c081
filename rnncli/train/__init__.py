"""Training: the loop (loop), SGD and clipping (sgd) and the optimisers with buffers
(optimizers), when to stop (stopping), resumable checkpoints (checkpoint), the samples printed
after each epoch (samples), and data-parallel training (distributed, over mpi)."""
