"""Video encoder f_v (LLaMo Sec. 3.2): person-centred crops (B, T, 3, S, S) -> (B, T, H).

"cnn" (default): a small 4-stage CNN over the crops from ``core.pose.video.person_crops``, trained
with the rest of the model (no pretrained weights are bundled, and nothing is downloaded).
"hf": a *frozen* HF vision model (CLIP / SigLIP / DINOv2) from a local folder
(``config.video_model_path``) + a trainable linear map to H. Both add sinusoidal temporal
positions so the feature enhancer's self-attention over video knows frame order.
The frozen backbone is a registered submodule (so ``.to(device)`` moves it); its weights are
therefore part of ``state_dict()`` and are reloaded unchanged.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.errors import ModelFilesError
from core.llamo.config import LLaMoConfig
from core.llamo.layers import sinusoidal_embedding

CNN_CHANNELS = (32, 64, 128, 256)
HF_CHUNK = 64  # frames per frozen-backbone call, to bound memory on long clips


def _conv_stage(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.GroupNorm(8, c_out), nn.GELU()
    )


class CropCNN(nn.Module):
    """(N, 3, S, S) in [0, 1] -> (N, H): 4 stride-2 conv stages + global average pool."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        chans = (3, *CNN_CHANNELS)
        self.stages = nn.Sequential(
            *(_conv_stage(a, b) for a, b in zip(chans[:-1], chans[1:], strict=True))
        )
        self.head = nn.Linear(CNN_CHANNELS[-1], hidden_size)

    def forward(self, images: Tensor) -> Tensor:
        x = self.stages((images - 0.5) / 0.25)  # (N, C, S/16, S/16)
        return self.head(x.mean(dim=(2, 3)))  # (N, H)


class FrozenHFVision(nn.Module):
    """A frozen local HF vision backbone + linear to H; resizing/normalising done in torch."""

    def __init__(self, path: str, hidden_size: int) -> None:
        super().__init__()
        from transformers import AutoImageProcessor, AutoModel

        folder = Path(path)
        if not (folder / "config.json").is_file():
            raise ModelFilesError(
                f"video_model_path: {folder} has no config.json; point it at a local HF vision "
                "model folder (CLIP, SigLIP or DINOv2 saved with save_pretrained)"
            )
        model = AutoModel.from_pretrained(folder)
        # Dual text-image models (CLIPModel, SiglipModel) keep their image tower here.
        self.backbone = getattr(model, "vision_model", model).eval().requires_grad_(False)
        vision_config = getattr(model.config, "vision_config", None) or model.config
        size = getattr(vision_config, "image_size", 224)
        mean, std = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]
        if (folder / "preprocessor_config.json").is_file():
            processor = AutoImageProcessor.from_pretrained(folder)
            mean, std = list(processor.image_mean), list(processor.image_std)
        self.image_size = int(size)
        self.register_buffer(
            "mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False
        )  # (1, 3, 1, 1)
        self.register_buffer(
            "std", torch.tensor(std).view(1, 3, 1, 1), persistent=False
        )  # (1, 3, 1, 1)
        self.proj = nn.Linear(vision_config.hidden_size, hidden_size)

    def train(self, mode: bool = True) -> FrozenHFVision:
        super().train(mode)
        self.backbone.eval()  # frozen: dropout and norms stay in inference mode
        return self

    @torch.no_grad()
    def _embed(self, images: Tensor) -> Tensor:
        size = (self.image_size, self.image_size)
        x = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
        x = ((x - self.mean) / self.std).to(next(self.backbone.parameters()).dtype)
        out = self.backbone(pixel_values=x)
        pooled = getattr(out, "pooler_output", None)
        return pooled if pooled is not None else out.last_hidden_state[:, 0]  # (N, Dv)

    def forward(self, images: Tensor) -> Tensor:
        feats = torch.cat([self._embed(c) for c in images.split(HF_CHUNK)], dim=0)  # (N, Dv)
        return self.proj(feats.to(self.proj.weight.dtype))  # (N, H)


class VideoEncoder(nn.Module):
    """f_v: frames (B, T, 3, S, S) float in [0, 1], frame_mask (B, T) -> (B, T, H)."""

    def __init__(self, config: LLaMoConfig) -> None:
        super().__init__()
        self.config = config
        if config.video_encoder == "hf":
            if not config.video_model_path:
                raise ValueError("video_model_path: video_encoder='hf' needs a local model folder")
            self.backbone: nn.Module = FrozenHFVision(config.video_model_path, config.hidden_size)
        else:
            self.backbone = CropCNN(config.hidden_size)
        self.norm = nn.LayerNorm(config.hidden_size)

    def forward(self, frames: Tensor, frame_mask: Tensor) -> Tensor:
        if frames.dim() != 5 or frames.shape[2] != 3:
            raise ValueError(f"frames: expected (B, T, 3, S, S), got {tuple(frames.shape)}")
        b, t = frames.shape[:2]
        dtype = self.norm.weight.dtype
        images = frames.reshape(b * t, *frames.shape[2:]).to(dtype)  # (B*T, 3, S, S)
        x = self.backbone(images).reshape(b, t, -1)  # (B, T, H)
        pos = sinusoidal_embedding(torch.arange(t, device=x.device), x.shape[-1])  # (T, H)
        x = self.norm(x + pos.to(dtype))
        return x * frame_mask[..., None].to(dtype)  # masked frames carry nothing
