"""Square windows on a (B, C, H, W) map (AMMSM eq. 3): pad, gather kept windows as tokens, scatter back.

Windows are numbered row-major on the padded grid (Hp/w rows of Wp/w windows); ``keep`` (B, K) holds
window numbers. Gathered tokens are (B, K*w*w, C), window by window, row-major inside a window.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pad_to_windows(x: torch.Tensor, window: int = 4) -> torch.Tensor:
    """Zero-pad the bottom/right of (B, C, H, W) so both sides are multiples of ``window``."""
    H, W = x.shape[-2:]
    return F.pad(x, (0, (-W) % window, 0, (-H) % window))  # (B, C, Hp, Wp)


def to_windows(x: torch.Tensor, window: int = 4) -> torch.Tensor:
    """(B, C, Hp, Wp) -> (B, nW, w*w, C)."""
    B, C, H, W = x.shape
    if H % window or W % window:
        raise ValueError(f"map {H}x{W} is not a multiple of the window {window}; pad it with pad_to_windows")
    t = x.reshape(B, C, H // window, window, W // window, window)  # (B, C, nh, w, nw, w)
    return t.permute(0, 2, 4, 3, 5, 1).reshape(B, -1, window * window, C)  # (B, nW, w*w, C)


def from_windows(t: torch.Tensor, size: tuple[int, int], window: int = 4) -> torch.Tensor:
    """(B, nW, w*w, C) -> (B, C, Hp, Wp), the inverse of :func:`to_windows`."""
    B, _, _, C = t.shape
    nh, nw = size[0] // window, size[1] // window
    t = t.reshape(B, nh, nw, window, window, C).permute(0, 5, 1, 3, 2, 4)  # (B, C, nh, w, nw, w)
    return t.reshape(B, C, size[0], size[1])


def gather(x: torch.Tensor, keep: torch.Tensor, window: int = 4) -> torch.Tensor:
    """Tokens of the kept windows: (B, C, Hp, Wp), keep (B, K) -> (B, K*w*w, C)."""
    t = to_windows(x, window)  # (B, nW, w*w, C)
    idx = keep[:, :, None, None].expand(-1, -1, t.shape[2], t.shape[3])  # (B, K, w*w, C)
    return t.gather(1, idx).flatten(1, 2)  # (B, K*w*w, C)


def scatter(tokens: torch.Tensor, keep: torch.Tensor, base: torch.Tensor, window: int = 4) -> torch.Tensor:
    """``base`` (B, C, Hp, Wp) with the kept windows replaced by ``tokens`` (B, K*w*w, C); others untouched."""
    t = to_windows(base, window)  # (B, nW, w*w, C)
    src = tokens.reshape(tokens.shape[0], keep.shape[1], window * window, -1)  # (B, K, w*w, C)
    idx = keep[:, :, None, None].expand_as(src)
    return from_windows(t.scatter(1, idx, src), base.shape[-2:], window)  # (B, C, Hp, Wp)


def window_mask(keep: torch.Tensor, size: tuple[int, int], window: int = 4) -> torch.Tensor:
    """Boolean (B, 1, Hp, Wp) map, True inside the kept windows."""
    B = keep.shape[0]
    nW = (size[0] // window) * (size[1] // window)
    m = torch.zeros(B, nW, device=keep.device, dtype=torch.bool).scatter(1, keep, True)  # (B, nW)
    m = m.reshape(B, size[0] // window, size[1] // window)
    return m.repeat_interleave(window, 1).repeat_interleave(window, 2)[:, None]  # (B, 1, Hp, Wp)
