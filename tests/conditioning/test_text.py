"""Text encoders load offline and give states, masks and pooled vectors of the right shapes."""

import pytest
import torch

from latentaudio.conditioning.text import build_text_encoder
from latentaudio.errors import LatentAudioError


@pytest.fixture(scope="module")
def minilm():
    return build_text_encoder("minilm")


def test_minilm_loads_offline_and_embeds(minilm, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = minilm(["a dog barking", "rain on a tin roof, heavy"])
    assert minilm.dim == 384
    assert out.states.shape == (2, minilm.max_tokens, 384)
    assert out.mask.shape == (2, minilm.max_tokens) and out.mask[:, 0].all()
    assert torch.allclose(out.pooled.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert len(minilm.tokenizer) > 30_000


def test_minilm_similarities_make_sense(minilm):
    pooled = minilm(["a dog barking", "a puppy yapping", "calm ambient synth pad"]).pooled
    dog_puppy = float(pooled[0] @ pooled[1])
    dog_pad = float(pooled[0] @ pooled[2])
    assert dog_puppy > dog_pad + 0.2


def test_tiny_encoder_is_deterministic():
    tiny = build_text_encoder("tiny")
    a = tiny(["hello world"])
    b = tiny(["hello world"])
    assert torch.equal(a.states, b.states) and a.mask.sum() == 2


def test_unknown_and_pathless_encoders_fail_clearly():
    with pytest.raises(LatentAudioError, match="unknown text encoder"):
        build_text_encoder("gpt")
    with pytest.raises(LatentAudioError, match="needs a local model folder"):
        build_text_encoder("t5")


def test_a_near_empty_tokenizer_is_refused(tmp_path):
    import json

    from latentaudio.conditioning.text import TransformersTextEncoder

    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "BertTokenizer"}))
    with pytest.raises(LatentAudioError, match=r"only \d tokens"):
        TransformersTextEncoder(tmp_path)
