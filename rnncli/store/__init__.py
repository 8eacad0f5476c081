"""Files on disk: writing atomically (atomic), the model folder (model_folder), its run log
(metrics), what a folder holds as data (describe), PyTorch's layout (export), and what rnncli
remembers between runs (remembered)."""
