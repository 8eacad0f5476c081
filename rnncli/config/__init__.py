"""The config: the dataclass schema with its defaults and checks (schema), and the reader that
fills any dataclass tree from YAML and `--set key=value` (reader)."""
