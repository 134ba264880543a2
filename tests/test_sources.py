from pathlib import Path

import pytest

from tp.errors import ModelSourceError
from tp.sources import resolve_model_source


def test_builtin_and_its_hub_id_resolve_to_the_packaged_weights() -> None:
    builtin = resolve_model_source("builtin:minilm")
    assert (builtin.path / "model.safetensors").is_file()
    assert builtin.name == "sentence-transformers/all-MiniLM-L6-v2"  # portable, not a site-packages path
    assert resolve_model_source("sentence-transformers/all-MiniLM-L6-v2").path == builtin.path


def test_unfetchable_hub_id_fails_with_one_clear_message() -> None:
    with pytest.raises(ModelSourceError) as error:
        resolve_model_source("distilbert-base-uncased")
    message = str(error.value)
    assert "HF_HUB_OFFLINE=1" in message and "local model folder" in message


def test_bad_local_sources(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="does not exist"):
        resolve_model_source(str(tmp_path / "no-such-model"))
    with pytest.raises(ModelSourceError, match="no config.json"):
        resolve_model_source(str(tmp_path))
    with pytest.raises(ModelSourceError, match="Unknown built-in model"):
        resolve_model_source("builtin:gpt5")
