"""The config reference generated from the schema: every key, its type, default and comment."""

import dataclasses
import importlib.util
import sys
import textwrap
import typing

import pytest

from rnncli.config import reference, schema


def test_every_field_of_the_schema_has_a_description():
    keys = reference.keys()
    missing = [key.path for key in keys if not key.doc]
    assert not missing, f"fields without a comment in rnncli/config/schema.py: {missing}"


def test_every_key_that_a_config_may_give_is_listed():
    hints = typing.get_type_hints(schema.Config)
    expected = set()
    for f in dataclasses.fields(schema.Config):
        if dataclasses.is_dataclass(hints[f.name]):
            expected |= {f"{f.name}.{g.name}" for g in dataclasses.fields(hints[f.name])}
        else:
            expected.add(f.name)
    assert {key.path for key in reference.keys()} == expected
    assert {"data.train", "model.cell", "train.epochs", "output"} <= expected


def _module(tmp_path, source: str):
    path = tmp_path / "fake_schema.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location("fake_schema", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["fake_schema"] = module
    spec.loader.exec_module(module)
    return module


def test_comments_are_attributed_to_their_fields(tmp_path):
    module = _module(tmp_path, '''
        from dataclasses import dataclass, field

        @dataclass
        class Section:
            # above the first field
            first: int = 1
            second: int = 2  # beside the second, and
            # going on below it
            third: str = "x"  # beside the third
            # above the fourth, which has none beside it
            fourth: list[int] = field(default_factory=lambda: [1,
                                                                2])
            fifth: bool = False

            def method(self):  # not a field's
                pass
        ''')
    docs = reference._field_docs(module.Section)
    assert docs == {"first": "above the first field",
                    "second": "beside the second, and going on below it",
                    "third": "beside the third",
                    "fourth": "above the fourth, which has none beside it",
                    "fifth": ""}


def test_markdown_has_a_row_per_key_with_its_default():
    text = reference.markdown()
    for key in reference.keys():
        assert f"| `{key.path}` |" in text
    assert "| `train.epochs` | int | `90` |" in text
    assert "| `data.valid` | str \\| null | `null` |" in text


@pytest.mark.parametrize("value, shown", [(None, "null"), (True, "true"), ([0.9, 0.999],
                                                                         "[0.9, 0.999]")])
def test_defaults_are_written_as_yaml(value, shown):
    assert reference._yaml(value, False) == shown


def test_the_demo_corpus_default_is_shown_inside_the_package_not_as_a_machine_path():
    train = next(key for key in reference.keys() if key.path == "data.train")
    assert train.default == "[rnncli/demo/cuisine.txt]"


def test_markup_in_a_comment_is_shown_as_written():
    cell = reference._text("words seen fewer times become <unk>; x_t * 2 | `valid_fraction`")
    assert cell == ("words seen fewer times become &lt;unk&gt;; x\\_t \\* 2 \\| "
                    "`valid_fraction`")
