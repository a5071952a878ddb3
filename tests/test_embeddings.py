"""The embedder: real MiniLM vectors, normalised, and a disk cache that spares the model."""

from __future__ import annotations

import numpy as np
import pytest

from benchsmith.embeddings import DIM, Embedder, find_model_dir

TEXTS = ["What is the capital city of France?", "Which city is France's capital?",
         "How do you reverse a linked list in Python?"]


def test_model_ships_in_the_wheel():
    folder = find_model_dir()
    assert (folder / "model.safetensors").is_file() and (folder / "modules.json").is_file()


def test_vectors_are_normalised_float32_and_meaningful(tmp_path):
    emb = Embedder(cache_dir=tmp_path)
    assert not emb.loaded  # lazy: nothing loads until the first encode
    vecs = emb.encode(TEXTS)
    assert emb.loaded
    assert vecs.shape == (3, DIM) == (3, emb.dim) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # Paraphrases are closer than an unrelated question.
    assert vecs[0] @ vecs[1] > 0.7 > vecs[0] @ vecs[2]


def test_cache_spares_the_model_within_and_across_instances(tmp_path):
    first = Embedder(cache_dir=tmp_path)
    a = first.encode(TEXTS + [TEXTS[0]])  # the repeated text is encoded once
    assert first.stats.model_calls == 1 and first.stats.texts_encoded == 3
    assert np.array_equal(a[0], a[3])

    b = first.encode(list(reversed(TEXTS)))
    assert first.stats.model_calls == 1 and first.stats.hits == 3
    assert np.array_equal(b, a[[2, 1, 0]])

    # A fresh embedder on the same folder answers from disk without loading the model.
    second = Embedder(cache_dir=tmp_path)
    c = second.encode(TEXTS)
    assert not second.loaded and second.stats.model_calls == 0 and second.stats.hits == 3
    assert np.array_equal(c, a[:3])

    # Only the new text goes to the model.
    second.encode(TEXTS + ["A brand new question about volcanoes?"])
    assert second.stats.model_calls == 1 and second.stats.texts_encoded == 1


def test_memory_cache_without_dir_and_batching():
    emb = Embedder(cache_dir=None, batch_size=2)
    many = [f"question number {i} about topic {i % 7}" for i in range(9)]
    x = emb.encode(many)
    y = emb.encode(many)
    assert emb.stats.model_calls == 1 and emb.stats.texts_encoded == 9
    assert np.array_equal(x, y)


def test_bad_input_and_empty():
    emb = Embedder()
    assert emb.encode([]).shape == (0, DIM)
    assert not emb.loaded
    with pytest.raises(TypeError, match="sequence of texts"):
        emb.encode("a single string")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        emb.encode(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="batch_size"):
        Embedder(batch_size=0)


def test_pickles_as_configuration(tmp_path):
    import pickle

    emb = Embedder(cache_dir=tmp_path)
    a = emb.encode(TEXTS[:1])
    clone = pickle.loads(pickle.dumps(emb))
    assert clone.cache_dir == tmp_path and not clone.loaded
    assert np.array_equal(clone.encode(TEXTS[:1]), a) and clone.stats.hits == 1
