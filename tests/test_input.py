"""The one reader of input files: what it refuses, and that it says where."""

from __future__ import annotations

from pathlib import Path

import pytest

from costar._exceptions import ConfigError, InputError
from costar._input import MAX_DEPTH, load_csv, load_jsonl, load_toml, load_yaml, yaml_document


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: !!python/name:os.system x\n", "f.yaml:1:5: unknown tag '!!python/name:os.system'"),
        ("id: !!python/object/apply:os.system ['id']\n", "unknown tag '!!python/object/apply"),
        ("id: !foo bar\n", "f.yaml:1:5: unknown tag '!foo'"),
        ("%TAG ! tag:example.com,2000:\n---\nid: !x y\n", "f.yaml:1:1: %TAG directives"),
        ("a: &a {x: 1}\nb:\n  <<: *a\n", "f.yaml:3:3: merge keys ('<<') are not supported"),
        ("? [a, b]\n: 1\n", "f.yaml:1:3: a key must be a plain value"),
        ("a: &a [*a]\n", "f.yaml:1:4: an alias refers to the node that contains it"),
        ("id: a\nid: b\n", "f.yaml:2:1: duplicate key 'id' (also on line 1"),
        ("id: 'a\x9bb'\n", "f.yaml:1:7: control character U+009B is not allowed"),
        ('id: "\\ud800"\n', "f.yaml:1:5: a string holds an unpaired surrogate escape"),
        ("a: 1\n---\nb: 2\n", "f.yaml:3: more than one YAML document"),
    ],
)
def test_hostile_yaml_is_refused_with_its_position(text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        yaml_document(text, "f.yaml")
    assert str(err.value).startswith(message) or message in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


def test_an_alias_bomb_is_refused_before_it_expands() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    bomb = "\n".join(lines)  # 9**9 = 387 million strings once expanded
    assert len(bomb) < 600
    with pytest.raises(InputError, match="aliases expand to more than 200,000 values"):
        yaml_document(bomb, "bomb.yaml")
    small = "a: &a [1, 2]\nb: [*a, *a]\n"  # ordinary aliases still work
    assert yaml_document(small).data == {"a": [1, 2], "b": [[1, 2], [1, 2]]}


def test_nesting_is_bounded_in_every_format(tmp_path: Path) -> None:
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    files = {
        "a.yaml": f"a: {deep}\n",
        "a.jsonl": f'{{"a": {deep}}}\n',
        "a.toml": f"a = {deep}\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    for name, loader in (("a.yaml", load_yaml), ("a.jsonl", load_jsonl), ("a.toml", load_toml)):
        with pytest.raises(InputError, match="nested (deeper than|too deeply)"):
            loader(tmp_path / name)
    (tmp_path / "ok.yaml").write_text("a: " + "[" * 10 + "]" * 10 + "\n")
    assert load_yaml(tmp_path / "ok.yaml").data["a"] == [[[[[[[[[[]]]]]]]]]]


def test_positions_are_kept_and_dates_stay_text() -> None:
    doc = yaml_document("id: x\nsetup:\n  files:\n    a.txt: {content: hi}\nday: 2024-01-01\n")
    assert doc.pos("setup", "files", "a.txt", "content") == (4, 22)
    assert doc.pos("setup", "<key>") == (2, 1)
    assert doc.data["day"] == "2024-01-01"


def test_bad_bytes_are_named_by_line_and_column(tmp_path: Path) -> None:
    for name, loader in (("x.yaml", load_yaml), ("x.jsonl", load_jsonl), ("x.csv", load_csv)):
        path = tmp_path / name
        path.write_bytes(b"a: 1\nb: caf\xe9\n" if name.endswith("yaml") else b'{"a": 1}\n"\xff"\n')
        with pytest.raises(InputError) as err:
            loader(path)
        where = "2:7" if name.endswith("yaml") else "2:2"
        assert str(err.value).startswith(f"{path}:{where}: not UTF-8 text"), str(err.value)
        assert isinstance(err.value, ConfigError)  # exit code 2 through the CLI


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 2000)
    with pytest.raises(InputError, match=r"file too large \(2,000 bytes; the limit is 1,000"):
        load_yaml(path, max_bytes=1000)
