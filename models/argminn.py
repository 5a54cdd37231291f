"""ARGMINN (notes §2): motif scanners → stream-attention syntax builder → logit.

Faithful to the reference (Genentech/ARGMINN ``MechIntRegNet``), including its quirks (§11):
attention logits are query·value (``key_mode="value"``), the tokens are not updated between layers,
no residual inside a layer, BN after the ReLU, the positional encoding is concatenated.
Differences: the forward returns logits (``probabilities()`` applies the sigmoid), the attention
products are tangermeme ``BilinearOp`` modules so DeepLIFT attributes them exactly, and every
nonlinearity is its own module instance, used once per forward.
"""

from __future__ import annotations

import contextlib
import math

import torch
from tangermeme.deep_lift_shap import BilinearOp
from torch import nn

from simulations.validation import validate_one_hot_shape

ARGMINN_DEFAULTS = {
    "num_filters": 8,        # F, motif scanners
    "filter_width": 10,      # W
    "pos_enc_dim": 16,       # P, sinusoidal, concatenated
    "num_layers": 4,         # AL stream-attention layers
    "num_heads": 4,          # NH
    "hidden_dim": 32,        # D, token dim and FF hidden dim
    "stream_dim": 128,       # S
    "batch_norm": True,
    "key_mode": "value",     # "value" (reference: logits q·v) or "linear" (a learned key projection)
    "stream_init": "randn",  # "randn" (reference src/) or "ones" (example notebook)
}


def positional_encoding(length: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Sinusoidal encoding, shape (length, dim): PE[t, 2k] = sin(t/10000^(2k/dim)), PE[t, 2k+1] = cos(...)."""
    t = torch.arange(length, device=device, dtype=torch.float64)[:, None]
    k = torch.arange(0, dim, 2, device=device, dtype=torch.float64)
    angle = t / (10000.0 ** (k / dim))
    pe = torch.zeros(length, dim, dtype=torch.float64, device=device)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : dim // 2])
    return pe.to(dtype)


class StreamAttentionLayer(nn.Module):
    """One stream-attention layer (notes §2.2 step 7).

    The single query comes from the stream ``s`` (N, S); keys/values from the fixed tokens ``x``
    (N, L', D). Returns the stream increment ``f`` (N, S) and the attention (N, NH, L').
    """

    def __init__(self, hidden_dim: int, stream_dim: int, num_heads: int, key_mode: str):
        super().__init__()
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim ({hidden_dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.head_dim = hidden_dim // num_heads
        self.query = nn.Linear(stream_dim, hidden_dim)
        self.key = nn.Linear(hidden_dim, hidden_dim) if key_mode == "linear" else None
        self.value = nn.Linear(hidden_dim, hidden_dim)
        self.scores = BilinearOp("nhd,nhtd->nht")   # query · key (key = value in the reference)
        self.softmax = nn.Softmax(dim=-1)
        self.mix = BilinearOp("nht,nhtd->nhd")      # attention-weighted sum of values
        self.out = nn.Linear(hidden_dim, hidden_dim)
        self.post_att_norm = nn.LayerNorm(hidden_dim)
        self.ff1 = nn.Linear(hidden_dim, hidden_dim)
        self.ff_relu = nn.ReLU()
        self.ff2 = nn.Linear(hidden_dim, stream_dim)
        self.post_ff_norm = nn.LayerNorm(stream_dim)
        self.fused = False  # eval mode runs the explicit products unless fused_attention() says otherwise

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        """(N, L', D) → (N, NH, L', d)."""
        n, length, _ = t.shape
        return t.reshape(n, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, stream: torch.Tensor, tokens: torch.Tensor):
        n = tokens.shape[0]
        q = self.query(stream).reshape(n, self.num_heads, self.head_dim)
        if self.training or self.fused:
            o, att = self._attend_fused(q, tokens)
        else:
            v = self._heads(self.value(tokens))
            k = v if self.key is None else self._heads(self.key(tokens))
            logits = self.scores(q, k) * (1.0 / math.sqrt(self.head_dim))  # (N, NH, L')
            att = self.softmax(logits)
            o = self.mix(att, v)
        a = self.post_att_norm(self.out(o.reshape(n, self.num_heads * self.head_dim)))
        f = self.post_ff_norm(self.ff2(self.ff_relu(self.ff1(a))))
        return f, att

    def _attend_fused(self, q: torch.Tensor, tokens: torch.Tensor):
        """The explicit attention's function without per-position keys and values.

        ``q·(W t + b) = (Wᵀq)·t + q·b`` and ``q·b`` is constant over positions, so the softmax is
        unchanged; ``Σ_t α_t (W t_t + b) = W (Σ_t α_t t_t) + b`` because α sums to 1. Skipping the
        (N, L', D) projections makes a training step about 2x faster on CPU. Used in training and
        inside :func:`fused_attention`; otherwise eval mode runs the explicit ``BilinearOp`` products,
        since DeepLIFT splits the dropped ``q·b`` term differently.
        q: (N, NH, d); tokens: (N, L', D). Returns o (N, NH, d) and attention (N, NH, L').
        """
        heads, dim = self.num_heads, tokens.shape[2]
        key = self.value if self.key is None else self.key
        key_q = torch.einsum("nhd,hde->nhe", q, key.weight.reshape(heads, self.head_dim, dim))
        att = self.softmax(torch.bmm(key_q, tokens.transpose(1, 2)) * (1.0 / math.sqrt(self.head_dim)))
        context = torch.bmm(att, tokens)  # (N, NH, D)
        o = torch.einsum("nhe,hde->nhd", context, self.value.weight.reshape(heads, self.head_dim, dim))
        return o + self.value.bias.reshape(heads, self.head_dim), att


@contextlib.contextmanager
def fused_attention(model: nn.Module):
    """Run ARGMINN's attention in its fused form in eval mode too, inside the block.

    Same function and same gradients as the explicit form, without the per-position keys and
    values: for gradient methods (Integrated Gradients, ISM, predictions), not for DeepLIFT, which
    needs the explicit ``BilinearOp`` products. A model without stream-attention layers is untouched.
    """
    layers = [m for m in model.modules() if isinstance(m, StreamAttentionLayer)]
    before = [layer.fused for layer in layers]
    for layer in layers:
        layer.fused = True
    try:
        yield model
    finally:
        for layer, was in zip(layers, before):
            layer.fused = was


class ARGMINN(nn.Module):
    """ARGMINN with the reference's defaults.

    Input (N, 4, L) one-hot A, C, G, T; output logits (N, 1). ``L' = L - W + 1``.
    """

    def __init__(self, input_length: int, num_filters=8, filter_width=10, pos_enc_dim=16, num_layers=4,
                 num_heads=4, hidden_dim=32, stream_dim=128, batch_norm=True, key_mode="value",
                 stream_init="randn"):
        super().__init__()
        if key_mode not in ("value", "linear"):
            raise ValueError(f"key_mode must be 'value' or 'linear', got {key_mode!r}")
        if stream_init not in ("randn", "ones"):
            raise ValueError(f"stream_init must be 'randn' or 'ones', got {stream_init!r}")
        if pos_enc_dim % 2:
            raise ValueError(f"pos_enc_dim must be even, got {pos_enc_dim}")
        if input_length < filter_width:
            raise ValueError(f"input_length ({input_length}) must be >= filter_width ({filter_width})")
        self.input_length = input_length
        self.scanner_width = filter_width
        self.pos_enc_dim = pos_enc_dim
        self.conv = nn.Conv1d(4, num_filters, filter_width)
        self.conv_relu = nn.ReLU()
        self.conv_bn = nn.BatchNorm1d(num_filters) if batch_norm else nn.Identity()
        self.init_dense = nn.Linear(num_filters + pos_enc_dim, hidden_dim)
        # the fixed starting stream: a buffer-like parameter without gradient, saved in the state dict
        init = torch.randn(stream_dim) if stream_init == "randn" else torch.ones(stream_dim)
        self.init_stream = nn.Parameter(init, requires_grad=False)
        self.layers = nn.ModuleList(
            StreamAttentionLayer(hidden_dim, stream_dim, num_heads, key_mode) for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(stream_dim)
        self.head = nn.Linear(stream_dim, 1)

    @property
    def scanner_weight(self) -> torch.Tensor:
        """First-layer conv weights (F, 4, W), the ones the overlap and L1 losses act on."""
        return self.conv.weight

    def scanner_activations(self, x: torch.Tensor) -> torch.Tensor:
        """Post-ReLU, pre-BN motif-scanner activations r, shape (N, F, L')."""
        return self.conv_relu(self.conv(x))

    def forward_with_interims(self, x: torch.Tensor):
        """Forward pass with the interims.

        Parameters
        ----------
        x : torch.Tensor, shape (N, 4, L)

        Returns
        -------
        logits : (N, 1)
        conv_acts : (N, F, L') post-ReLU pre-BN activations
        attention : (N, AL, NH, L') softmax weights per layer and head
        """
        validate_one_hot_shape(x, "x")
        acts = self.scanner_activations(x)
        z = self.conv_bn(acts).transpose(1, 2)  # (N, L', F)
        n, lp, _ = z.shape
        pe = positional_encoding(lp, self.pos_enc_dim, device=x.device, dtype=z.dtype)
        tokens = self.init_dense(torch.cat([z, pe.expand(n, lp, -1)], dim=2))  # (N, L', D)
        stream = self.init_stream.expand(n, -1)
        atts = []
        for layer in self.layers:
            f, att = layer(stream, tokens)
            stream = stream + f
            atts.append(att)
        logits = self.head(self.final_norm(stream))
        return logits, acts, torch.stack(atts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_interims(x)[0]


def reference_to_ours(ref_state: dict) -> dict:
    """Map a reference ``MechIntRegNet`` state dict (names without a prefix) onto :class:`ARGMINN`."""
    out = {}
    for name, value in ref_state.items():
        new = (name.replace("conv_layer.", "conv.", 1)
               .replace("conv_batch_norm.", "conv_bn.", 1)
               .replace("syntax_builder.init_stream", "init_stream")
               .replace("syntax_builder.init_dense.", "init_dense.")
               .replace("syntax_builder.final_norm.", "final_norm.")
               .replace("syntax_builder.attention_layers.", "layers.")
               .replace("linear_layer.", "head."))
        for old, repl in ((".att_query_linear.0.", ".query."), (".att_value_linear.", ".value."),
                          (".att_key_linear.", ".key."), (".att_final_linear.", ".out."),
                          (".feedforward.0.", ".ff1."), (".feedforward.3.", ".ff2.")):
            new = new.replace(old, repl)
        out[new] = value
    return out
