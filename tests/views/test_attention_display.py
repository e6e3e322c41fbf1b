"""What the Attention view draws, prepared off the GUI thread: shrunken thumbnails (block means), their
colours, the maps without special tokens equal to `AttentionMaps.matrix`, and label thinning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.core.probing import AttentionMaps, ProbeInputError
from workbench.views.attention_display import label_step, prepare_attention, shrink, thumbnail_colours


def random_maps(layers: int = 2, heads: int = 3, size: int = 9, pair: bool = False) -> AttentionMaps:
    """[CLS] ... [SEP], or with `pair` a second [SEP] in the middle ([CLS] a [SEP] b [SEP])."""
    torch.manual_seed(3)
    probs = torch.randn(layers, heads, size, size).mul(2).softmax(-1)
    special = [True] + [False] * (size - 2) + [True]
    if pair:
        special[size // 2] = True
    return AttentionMaps([f"t{i}" for i in range(size)], list(range(size)), special, probs)


def test_shrink_takes_block_means_and_keeps_small_maps() -> None:
    values = torch.arange(16, dtype=torch.float32).reshape(1, 4, 4)
    assert shrink(values, 2).tolist() == [[[2.5, 4.5], [10.5, 12.5]]]
    assert np.array_equal(shrink(values, 8), values.numpy())
    uneven = torch.rand(2, 3, 10, 10)
    shrunk = shrink(uneven, 4)
    assert shrunk.shape == (2, 3, 4, 4)
    assert shrunk.mean() == pytest.approx(float(uneven.mean()), rel=0.05)  # blocks differ by one row at most


def test_thumbnail_colours_scale_each_map_by_its_own_maximum() -> None:
    values = np.array([[[0.0, 0.5], [0.5, 0.5]], [[0.0, 0.1], [0.1, 0.1]]])
    rgb = thumbnail_colours(values)
    assert rgb.shape == (2, 2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 0, 0].tolist() == [255, 255, 255] and rgb[0, 1, 1].tolist() == [8, 48, 107]
    assert rgb[1, 1, 1].tolist() == [8, 48, 107]  # 0.1 is that map's darkest


@pytest.mark.parametrize("pair", [False, True])
def test_prepared_matrices_equal_the_engines(pair: bool) -> None:
    maps = random_maps(pair=pair)
    display = prepare_attention(maps, cells=4)
    assert display.thumbnails[False].shape == (2, 3, 4, 4, 3) and display.thumbnails[True].shape == (2, 3, 4, 4, 3)
    for head in (0, 2, "mean", "rollout"):
        for hide in (False, True):
            shown, expected = display.matrix(1, head, hide), maps.matrix(1, head, hide_special=hide)
            assert shown.labels == expected.labels
            assert torch.allclose(shown.values, expected.values, atol=1e-6)
    with pytest.raises(ProbeInputError):
        display.matrix(0, 3, True)
    with pytest.raises(ProbeInputError):
        display.matrix(2, "mean", True)


def test_no_special_tokens_means_nothing_to_hide() -> None:
    maps = random_maps()
    plain = AttentionMaps(maps.tokens, maps.input_ids, [False] * len(maps.tokens), maps.probs)
    display = prepare_attention(plain, cells=4)
    assert display.hidden is None
    assert np.array_equal(display.thumbnails[True], display.thumbnails[False])


def test_label_step_thins_labels_that_would_overlap() -> None:
    assert label_step(512, 20.0, 14.0) == 1
    assert label_step(512, 1.0, 14.0) == 14
    assert label_step(512, 0.9, 14.0) == 16
    assert label_step(1, 0.1, 14.0) == 1
