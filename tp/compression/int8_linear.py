"""Dynamic int8 Linear layers on torch's int8 matrix multiply, without torch.ao's deprecated eager API.

torch 2.13 warns that `torch.ao.quantization.quantize_dynamic` and its quantized tensor types will be removed.
`Int8Linear` keeps plain tensors instead: the weight as int8 with one fp32 scale per output channel
(symmetric), the bias in fp32. Each batch's activations are quantized per token (one scale a row, more
accurate than the one scale a tensor of the eager API), multiplied in int8 with `torch._int_mm` (int32
accumulators: VNNI on x86) and rescaled to fp32. torchao's `Int8DynamicActivationInt8WeightConfig` does the
same maths, but without torch.compile its CPU path was 1.1-1.2x fp32 here, against ~2x for this one.
A backend with no int8 kernel for a shape falls back to the dequantized fp32 weight (same results).
"""

from __future__ import annotations

import torch
from torch import nn

QMAX = 127.0
ROWS_A_BLOCK = 1024


def quantize_rows(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 per row: (int8 values, fp32 scale a row)."""
    scale = values.abs().amax(dim=-1, keepdim=True).div_(QMAX).clamp_(min=1e-12)
    return values.div(scale).round_().to(torch.int8), scale  # |values / scale| <= 127 by construction


class Int8Linear(nn.Module):
    """y = x W^T + b with W in int8 per output channel and x quantized per token at run time."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.register_buffer("weight_int8", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)
        self._packed: torch.Tensor | None = None  # the weight transposed for _int_mm, made on first use

    @classmethod
    def from_float(cls, linear: nn.Linear) -> Int8Linear:
        module = cls(linear.in_features, linear.out_features, linear.bias is not None)
        values, scale = quantize_rows(linear.weight.detach().float())
        module.weight_int8.copy_(values)
        module.weight_scale.copy_(scale.squeeze(1))
        if linear.bias is not None:
            module.bias.copy_(linear.bias.detach().float())
        return module

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self._packed = None  # new weights: pack again
        super()._load_from_state_dict(*args, **kwargs)

    def dequantized_weight(self) -> torch.Tensor:
        return self.weight_int8.float() * self.weight_scale[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, self.in_features).float()
        if self._packed is None or self._packed.device != rows.device:
            self._packed = self.weight_int8.t().contiguous()
        # blocks of rows: quantizing and rescaling are memory-bound passes, fast while a block stays in cache
        # (one pass over 8,192 x 1,536 floats at once was 4x slower a value than over 1,024 rows)
        if len(rows) <= ROWS_A_BLOCK:
            out = self._block(rows)
        else:
            out = torch.cat([self._block(block) for block in rows.split(ROWS_A_BLOCK)])
        return out.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def _block(self, rows: torch.Tensor) -> torch.Tensor:
        values, scale = quantize_rows(rows)
        try:
            out = torch._int_mm(values, self._packed).float()
        except RuntimeError:  # no int8 kernel for this device or shape
            out = values.float() @ self.weight_int8.float().t()
        out = out.mul_(scale).mul_(self.weight_scale)
        return out.add_(self.bias) if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 per channel"
