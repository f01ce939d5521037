"""AMMSM: adaptive motion magnification + sparse state-space (SSSD) two-stream recogniser (AMMSM Sec. III).

flow (B, 2, H, W) -> magnifier (Sec. III-A, eq. 1) -> flow_mag -> VSSD-style stem (H/4) -> 4 stages of
SSSD blocks (Sec. III-B; sparse activation eqs. 3-5, NC-SSD mixer eq. 6; the LAST block of stages 3
and 4 uses multi-head self-attention) -> head. The spatial stream (ResNet18 on the onset frame, first two
stages) is fused with the temporal stream at the end of stage 2 (Fig. 2). flow -> logits is one
differentiable model.

Choices the paper leaves open (Replication notes in notebook 06): the fusion operator (``fusion``:
"concat" = concatenate + 1x1 conv + BN, default; "add" = sum after a 1x1 projection) and the input
resolution (``size``; 224 in the paper profile, as VSSD and ResNet18 use). The spatial stream keeps only
ResNet18's stem + layers 1-2 (nothing after the fusion point would receive gradients).

Ablation switches (Table III), everything else equal: ``magnifier`` on/off, ``sparse`` on/off,
``backbone`` "ssd" (SSSD blocks, attention in the last block of stages 3-4) or "transformer" (attention
mixer in every block).

Sparsity config: one ratio per PAIR of blocks (``n_genes`` = sum over stages of ceil(depth/2)),
non-decreasing within a stage, from {0.1, ..., 0.8} (Sec. IV-C). Window importance is computed once at
the start of each stage (after SparseViT); a block with ratio S keeps the top int(nW * (1 - S)) windows
(at least one), so later blocks of a stage truncate the same sorted index.

Whose choice is what (Replication notes in notebooks 05 and 06):

- ``score`` (window score): "paper" = eq. 4 as written, the L2 norm of the whole 4x4xC window (default);
  "sparsevit" = SparseViT's code (L2 norm of the channel-mean |x| of the 16 tokens; melib's earlier default).
- ``head``: "norm_pool" = VSSD's head, LayerNorm on every token, then average pooling, then Linear
  (default; the paper builds on VSSD and says nothing else); "pool_norm" = melib's earlier order.
- ``init``: "trunc_normal" = VSSD's ``_init_weights``, every Linear weight ~ trunc-normal(std 0.02), bias 0,
  LayerNorm 1/0 (default); "torch" = PyTorch's default initialisation (melib's earlier choice). Convs,
  BatchNorm and the NC-SSD parameters (dt_bias, A_log, D) keep their own initialisation in both, as in VSSD.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import torch
from torch import nn

from melib.magnify import FlowMagnifier
from melib.models.resnet import ResNet18
from melib.sparse import SSSDBlock, stage_windows

# AMMSMConfig fields added after checkpoints were first written, with the values those checkpoints used.
LEGACY_CONFIG = {"score": "sparsevit", "head": "pool_norm", "init": "torch"}


@dataclass
class AMMSMConfig:
    """Model sizes and switches; ``from_profile(cfg.ammsm)`` reads them from a profile block."""

    n_classes: int = 3
    size: int = 224  # input resolution of flow and onset frame (paper: unspecified; VSSD/ResNet use 224)
    depths: list[int] = field(default_factory=lambda: [2, 4, 8, 4])
    dims: list[int] = field(default_factory=lambda: [64, 128, 256, 512])
    heads: list[int] = field(default_factory=lambda: [2, 4, 8, 16])
    d_state: int = 64
    drop_path: float = 0.2
    res_width: int = 64  # ResNet18 base width (spatial stream)
    image_channels: int = 3  # onset frame: 3 = RGB, 1 = grey
    mag_base: int = 64
    mag_levels: int = 5
    alpha_code: str = "sinusoidal"
    fusion: str = "concat"  # "concat" | "add"
    magnifier: bool = True
    sparse: bool = True
    backbone: str = "ssd"  # "ssd" | "transformer"
    window: int = 4
    score: str = "paper"  # "paper" (eq. 4: ||X_{m,n}||_2) | "sparsevit" (L2 of token channel-means)
    head: str = "norm_pool"  # "norm_pool" (VSSD: LayerNorm, pool, Linear) | "pool_norm" (melib's old order)
    init: str = "trunc_normal"  # "trunc_normal" (VSSD: Linear ~ N(0, 0.02), bias 0) | "torch" (defaults)

    KEYS = ("n_classes", "size", "depths", "dims", "heads", "d_state", "drop_path", "res_width",
            "image_channels", "mag_base", "mag_levels", "alpha_code", "fusion", "window", "score", "head",
            "init")

    @classmethod
    def from_profile(cls, section, **overrides) -> AMMSMConfig:
        """Build from a profile section (``cfg.ammsm``): its keys named in :attr:`KEYS`, then overrides."""
        values = {k: getattr(section, k) for k in cls.KEYS if hasattr(section, k)}
        values.update(overrides)
        return cls(**values)

    def __post_init__(self):
        if not (len(self.depths) == len(self.dims) == len(self.heads) == 4):
            raise ValueError(f"depths/dims/heads must each list 4 stages, got {self.depths}, {self.dims}, "
                             f"{self.heads}")
        if self.fusion not in ("concat", "add"):
            raise ValueError(f"fusion must be 'concat' or 'add', got {self.fusion!r}")
        if self.backbone not in ("ssd", "transformer"):
            raise ValueError(f"backbone must be 'ssd' or 'transformer', got {self.backbone!r}")
        choices = {"score": ("paper", "sparsevit"), "head": ("norm_pool", "pool_norm"),
                   "init": ("trunc_normal", "torch")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(f"{key} must be one of {allowed}, got {getattr(self, key)!r}")
        if self.size % 32:
            raise ValueError(f"size must be a multiple of 32 (stem /4, three /2 downsamplings), "
                             f"got {self.size}")

    @property
    def genes_per_stage(self) -> list[int]:
        return [math.ceil(d / 2) for d in self.depths]

    @property
    def n_genes(self) -> int:
        return sum(self.genes_per_stage)


def vssd_init(m: nn.Module) -> None:
    """VSSD's ``_init_weights`` (apply it with ``model.apply``): Linear weight ~ trunc-normal(std 0.02) on
    [-2, 2] (timm's default bounds, as VSSD calls it), Linear bias 0, LayerNorm weight 1 and bias 0."""
    if isinstance(m, nn.Linear):
        nn.init.trunc_normal_(m.weight, std=0.02, a=-2.0, b=2.0)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


class AMMSMOutput(NamedTuple):
    logits: torch.Tensor  # (B, n_classes)
    flow_mag: torch.Tensor  # (B, 2, H, W): the magnified flow (the input flow when the magnifier is off)


class VSSDStem(nn.Module):
    """VSSD stem to H/4: conv s2 (C/2), residual conv pair, conv s2 (4C), 1x1 conv (C)."""

    def __init__(self, c_in: int, c: int):
        super().__init__()
        h = c // 2
        self.conv1 = nn.Sequential(nn.Conv2d(c_in, h, 3, 2, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU())
        self.res = nn.Sequential(nn.Conv2d(h, h, 3, 1, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU(),
                                 nn.Conv2d(h, h, 3, 1, 1, bias=False), nn.BatchNorm2d(h))
        self.conv2 = nn.Sequential(nn.Conv2d(h, 4 * c, 3, 2, 1, bias=False), nn.BatchNorm2d(4 * c), nn.ReLU(),
                                   nn.Conv2d(4 * c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)  # (B, C/2, H/2, W/2)
        x = x + self.res(x)  # (B, C/2, H/2, W/2)
        return self.conv2(x)  # (B, C, H/4, W/4)


class Downsample(nn.Module):
    """VSSD downsampling between stages: 1x1 (4 C_out) + ReLU, DW 3x3 s2 + ReLU, 1x1 (C_out) + BN."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        m = 4 * c_out
        self.net = nn.Sequential(nn.Conv2d(c_in, m, 1), nn.ReLU(), nn.Conv2d(m, m, 3, 2, 1, groups=m),
                                 nn.ReLU(), nn.Conv2d(m, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, C_out, H/2, W/2)


class Fusion(nn.Module):
    """Spatio-temporal fusion at the end of stage 2 (Fig. 2): "concat" (cat + 1x1 + BN) or "add"."""

    def __init__(self, c_t: int, c_s: int, mode: str):
        super().__init__()
        self.mode = mode
        c_in = c_t + c_s if mode == "concat" else c_s
        self.proj = nn.Sequential(nn.Conv2d(c_in, c_t, 1, bias=False), nn.BatchNorm2d(c_t))

    def forward(self, t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if t.shape[-2:] != s.shape[-2:]:
            raise ValueError(f"fusion needs equal maps: temporal {tuple(t.shape)} vs spatial "
                             f"{tuple(s.shape)}")
        if self.mode == "concat":
            return self.proj(torch.cat([t, s], 1))  # (B, C_t, h, w)
        return t + self.proj(s)  # (B, C_t, h, w)


class Stage(nn.Module):
    """One stage of SSSD blocks; ``ratios`` (one per pair of blocks) drive the sparse activation."""

    def __init__(self, dim: int, depth: int, heads: int, mixers: list[str], drop_paths: list[float],
                 d_state: int, window: int, score: str = "paper"):
        super().__init__()
        self.window, self.mixers, self.score = window, list(mixers), score
        self.blocks = nn.ModuleList(
            SSSDBlock(dim, mixer=m, heads=heads, d_state=d_state, drop_path=dp, window=window)
            for m, dp in zip(mixers, drop_paths)
        )

    def forward(self, x: torch.Tensor, ratios: list[float] | None) -> torch.Tensor:
        keeps = [None] * len(self.blocks)
        if ratios is not None:  # importance sorted once at the stage input; block j uses ratio j // 2
            keeps = stage_windows(x, [ratios[j // 2] for j in range(len(self.blocks))], self.window, self.score)
        for block, keep in zip(self.blocks, keeps):
            x = block(x, keep=keep)  # (B, C, h, w); keep (B, k) kept window indices or None
        return x

    def n_windows(self, h: int, w: int) -> int:
        """Windows of a (h, w) map (padded to multiples of ``window``): 1 means sparsity cannot act."""
        return math.ceil(h / self.window) * math.ceil(w / self.window)


def load_weights(path, writer: str):
    """``torch.load(weights_only=True)`` with torch's refusal of a pickle that carries code (or any
    object beyond tensors, numbers, strings and containers) reworded: the message names the file and
    the object it would have built, and does not suggest disabling the guard."""
    import pickle
    import re

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL ([\w.]+)|Unsupported operand (\d+)", str(err))
        what = f" (it would build {found.group(1) or 'opcode ' + found.group(2)})" if found else ""
        raise ValueError(f"{path}: refused: not a plain weights file{what}. melib loads only checkpoints of "
                         f"tensors, numbers and strings, as {writer} writes them; a pickle that builds other "
                         "Python objects could run code when loaded. Re-save the state_dict with torch.save "
                         "from a trusted session.") from None


class AMMSM(nn.Module):
    """The AMMSM model. ``forward(flow, onset, alpha=None, ratios=None) -> AMMSMOutput``.

    flow (B, 2, H, W) onset->apex optical flow; onset (B, image_channels, H, W) the onset frame; alpha
    (B,) or a float, the magnification factor (ignored when the magnifier is off); ratios: one sparsity
    ratio per pair of blocks (``cfg.n_genes`` numbers, stage by stage; ignored when sparse is off; None =
    dense).
    """

    def __init__(self, cfg: AMMSMConfig):
        super().__init__()
        self.cfg = cfg
        self.magnifier = (FlowMagnifier(base=cfg.mag_base, levels=cfg.mag_levels, alpha_code=cfg.alpha_code)
                          if cfg.magnifier else None)
        self.spatial = ResNet18(in_ch=cfg.image_channels, width=cfg.res_width, stages=2)
        self.stem = VSSDStem(2, cfg.dims[0])
        dpr = torch.linspace(0, cfg.drop_path, sum(cfg.depths)).tolist()
        self.downs, self.stages, start = nn.ModuleList(), nn.ModuleList(), 0
        for i, (c, d, h) in enumerate(zip(cfg.dims, cfg.depths, cfg.heads)):
            self.downs.append(nn.Identity() if i == 0 else Downsample(cfg.dims[i - 1], c))
            mixers = ["attention" if cfg.backbone == "transformer" or (i >= 2 and j == d - 1) else "ssd"
                      for j in range(d)]
            self.stages.append(Stage(c, d, h, mixers, dpr[start:start + d], cfg.d_state, cfg.window, cfg.score))
            start += d
        self.fusion = Fusion(cfg.dims[1], self.spatial.out_channels, cfg.fusion)
        self.norm = nn.LayerNorm(cfg.dims[-1])
        self.head = nn.Linear(cfg.dims[-1], cfg.n_classes)
        if cfg.init == "trunc_normal":
            self.apply(vssd_init)

    def split_ratios(self, ratios) -> list[list[float] | None]:
        """Check a flat gene list (one ratio per pair of blocks) and split it per stage."""
        if ratios is None or not self.cfg.sparse:
            return [None] * 4
        ratios = [float(r) for r in ratios]
        if len(ratios) != self.cfg.n_genes:
            raise ValueError(f"ratios: expected {self.cfg.n_genes} values (one per pair of blocks, stages "
                             f"{self.cfg.genes_per_stage}), got {len(ratios)}")
        if any(not 0.0 <= r < 1.0 for r in ratios):
            raise ValueError(f"ratios must lie in [0, 1), got {ratios}")
        out, i = [], 0
        for n in self.cfg.genes_per_stage:
            out.append(ratios[i:i + n])
            i += n
        return out

    def magnify(self, flow: torch.Tensor, alpha) -> torch.Tensor:
        if self.magnifier is None:
            return flow
        if not torch.is_tensor(alpha):
            alpha = torch.full((flow.shape[0],), float(alpha), device=flow.device)
        return self.magnifier(flow, alpha.to(flow)).to(flow.dtype)  # (B, 2, H, W)

    def forward(self, flow: torch.Tensor, onset: torch.Tensor, alpha=1.0, ratios=None) -> AMMSMOutput:
        per_stage = self.split_ratios(ratios)
        flow, onset = flow.contiguous(), onset.contiguous()  # channels-last views crashed CPU backward (torch 2.13)
        flow_mag = self.magnify(flow, alpha)  # (B, 2, H, W)
        x = self.stem(flow_mag)  # (B, C1, H/4, W/4)
        for i in range(4):
            x = self.downs[i](x)  # (B, C_i, H/2**(i+2), W/2**(i+2))
            x = self.stages[i](x, per_stage[i])  # (B, C_i, H/2**(i+2), W/2**(i+2))
            if i == 1:
                x = self.fusion(x, self.spatial.features(onset))  # (B, C2, H/8, W/8)
        return AMMSMOutput(self.classify(x), flow_mag)  # (B, n_classes)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """The head on the last stage's map (B, C4, h, w) -> logits (B, n_classes); order per ``cfg.head``."""
        if self.cfg.head == "norm_pool":  # VSSD: LayerNorm on every token, then average pooling
            return self.head(self.norm(x.permute(0, 2, 3, 1)).mean((1, 2)))
        return self.head(self.norm(x.mean((2, 3))))  # melib's earlier order: pool, then LayerNorm

    def stage_shapes(self, batch: int = 1) -> list[tuple[int, ...]]:
        """Feature-map shape after stem and each stage, for an input of ``cfg.size`` (a glossary aid)."""
        s = self.cfg.size
        return [(batch, c, s // 2 ** (i + 2), s // 2 ** (i + 2)) for i, c in enumerate(self.cfg.dims)]

    def inert_genes(self) -> list[bool]:
        """Per gene: True where its stage holds a single window at ``cfg.size`` (the ratio cannot prune)."""
        shapes = self.stage_shapes()
        return [st.n_windows(*shapes[i][-2:]) == 1 for i, st in enumerate(self.stages)
                for _ in range(self.cfg.genes_per_stage[i])]

    def param_counts(self) -> dict[str, int]:
        """Parameters per part (notebook 06's table)."""
        parts = {"magnifier": self.magnifier, "spatial (ResNet18 l1-2)": self.spatial, "stem": self.stem}
        for i in range(4):
            parts[f"stage {i + 1}"] = nn.ModuleList([self.downs[i], self.stages[i]])
        parts.update({"fusion": self.fusion, "head": nn.ModuleList([self.norm, self.head])})
        counts = {k: sum(p.numel() for p in m.parameters()) if m is not None else 0 for k, m in parts.items()}
        counts["total"] = sum(p.numel() for p in self.parameters())
        return counts

    def config_dict(self) -> dict:
        return asdict(self.cfg)

    @classmethod
    def load(cls, path) -> AMMSM:
        """Rebuild a model from a checkpoint ``{"state_dict", "config"}`` (what training saves as model.pt).

        Read with ``torch.load(weights_only=True)``: a checkpoint from elsewhere cannot run code on load.
        """
        from pathlib import Path

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such checkpoint (expected a model.pt written by melib.train.ammsm)")
        ckpt = load_weights(path, "melib.train.ammsm")
        if not isinstance(ckpt, dict) or not {"state_dict", "config"} <= set(ckpt):
            raise ValueError(f"{path}: expected a dict with keys 'state_dict' and 'config', got "
                             f"{sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__}")
        unknown = set(ckpt["config"]) - set(AMMSMConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: config field(s) {sorted(unknown)} are not AMMSMConfig fields")
        # A checkpoint saved before these fields existed was trained with melib's earlier forms; rebuild it so
        # (the weights of either form have the same shapes, so a silent default would change its outputs).
        model = cls(AMMSMConfig(**{**LEGACY_CONFIG, **ckpt["config"]}))
        try:
            model.load_state_dict(ckpt["state_dict"])
        except RuntimeError as err:
            raise ValueError(f"{path}: weights do not fit the model its config describes: {err}") from err
        return model
