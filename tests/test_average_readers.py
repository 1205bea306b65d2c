"""bench/average_readers.py: a checkpoint soup is the weighted mean, verifiable as shipped weights."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.answer.reader import WEIGHTS_DIR, check_weights
from bench.average_readers import ADAPTER, average
from bench.train_reader import seal

safetensors_torch = pytest.importorskip("safetensors.torch")


def scaled_copy(tmp_path: Path, name: str, factor: float, **config: object) -> Path:
    """The shipped reader with every floating tensor multiplied by `factor` and `config`
    set in its adapter configuration, re-sealed."""
    work = tmp_path / f"{name}.build"
    shutil.copytree(WEIGHTS_DIR, work)
    (work / "manifest.json").unlink()
    path = work / "adapter" / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text(encoding="utf-8")), **config}), encoding="utf-8")
    tensors = safetensors_torch.load_file(str(work / ADAPTER))
    safetensors_torch.save_file({k: (v.float() * factor).half() for k, v in tensors.items()}, str(work / ADAPTER),
                                metadata={"format": "pt"})
    seal(work, tmp_path / name, {"command": f"scaled by {factor}"})
    return tmp_path / name


def test_the_weighted_mean_of_two_readers(tmp_path: Path) -> None:
    one, three = scaled_copy(tmp_path, "one", 1.0), scaled_copy(tmp_path, "three", 3.0)
    out = tmp_path / "soup"
    average([one, three], out, [3.0, 1.0])
    manifest = check_weights(out)  # every file sealed: a Reader would load it
    assert [a["weight"] for a in manifest["averaged_from"]] == [3.0, 1.0]
    assert "bench.average_readers" in manifest["command"]
    mean = safetensors_torch.load_file(str(out / ADAPTER))
    base = safetensors_torch.load_file(str(one / ADAPTER))
    key = max(base, key=lambda k: base[k].numel())
    expected = base[key].float() * 1.5  # (3 * 1 + 1 * 3) / 4
    assert mean[key].dtype == base[key].dtype
    assert (mean[key].float() - expected).abs().max() <= 2e-3 * max(1.0, float(expected.abs().max()))
    assert not (tmp_path / "soup.tmp").exists()


def test_unlike_adapters_are_refused(tmp_path: Path) -> None:
    one, other = scaled_copy(tmp_path, "one", 1.0), scaled_copy(tmp_path, "other", 1.0, r=8)
    with pytest.raises(SystemExit, match="configurations differ"):
        average([one, other], tmp_path / "soup")
    assert not (tmp_path / "soup").exists()


def test_the_order_peft_saves_target_modules_in_does_not_matter(tmp_path: Path) -> None:
    """A run continued with `train_reader --init` saves the same modules in another order."""
    config = WEIGHTS_DIR / "adapter" / "adapter_config.json"
    targets = json.loads(config.read_text(encoding="utf-8"))["target_modules"]
    one = scaled_copy(tmp_path, "one", 1.0, target_modules=sorted(targets))
    two = scaled_copy(tmp_path, "two", 2.0, target_modules=sorted(targets, reverse=True))
    average([one, two], tmp_path / "soup")
    assert check_weights(tmp_path / "soup")["averaged_from"]


@pytest.mark.parametrize("weights", [[1.0], [1.0, -1.0], [0.0, 0.0]])
def test_bad_weights_are_refused(tmp_path: Path, weights: list[float]) -> None:
    one, two = scaled_copy(tmp_path, "one", 1.0), scaled_copy(tmp_path, "two", 2.0)
    with pytest.raises(SystemExit, match="weight"):
        average([one, two], tmp_path / "soup", weights)


def test_a_damaged_input_is_named(tmp_path: Path) -> None:
    one, two = scaled_copy(tmp_path, "one", 1.0), scaled_copy(tmp_path, "two", 2.0)
    data = bytearray((two / ADAPTER).read_bytes())
    data[-1] ^= 0xFF
    (two / ADAPTER).write_bytes(bytes(data))
    with pytest.raises(Exception, match="sha256"):
        average([one, two], tmp_path / "soup")
