"""int8 for the Qwen3 scorer on the CPU, and the automatic choice of dtype.

**int8** quantises every ``nn.Linear`` of the decoder (:class:`Int8Linear
<int8_linear_class>`): 7-bit weights with one scale per output channel, 8-bit activations
with one scale per token, int32 accumulation on PyTorch's dynamic-quantisation kernel
(``torch.ops.quantized.linear_dynamic``: FBGEMM on x86 with AVX2, VNNI where present), and
a block Hadamard rotation of ``down_proj``'s heavy-tailed input. Measured on one
decoder's layers of the bench's random 0.6B model with AVX2 kernels (relative output error
against fp32): PyTorch's plain ``quantize_dynamic`` 1.8-6.5e-2 (one activation scale per
batch, activations on 7 bits), per-token 7-bit activations 1.7-4.5e-2 (``down_proj`` the
worst), this recipe 1.7-2.0e-2 for every layer (``down_proj`` 1.9e-2 with
the rotation, 2.8-3.0e-2 without). Embeddings, RMS norms, attention (SDPA)
and the yes/no head stay float32, and the scorer's own forward path (only the last
position's two logits, the shared prefix's key/value cache reused) runs unchanged on the
quantised modules. ``lm_head`` is never quantised: Sieve reads its "no"/"yes" rows in
float32 and never runs it.

Why this and not ONNX Runtime: it keeps the exact same forward code (prefix KV reuse,
last-position head) that an ONNX export would have to re-create, its kernel ran a
decoder-sized linear layer 2.1x faster than fp32 with the CPU limited to AVX2 (about the
2x an AVX2 int8 product can give over fp32 FMA), and ONNX Runtime's dynamic quantisation
takes one activation scale per tensor (``DynamicQuantizeLinear``), the batch-dependent
scheme measured worst above.

The automatic dtype (``dtype="auto"``, the dashboard's and CLI's default) is, among the
dtypes whose scores stayed within the bounds (largest score difference <= 2e-2, Kendall's
tau >= 0.95 against fp32 over 200 candidates, :data:`CPU_WITHIN_BOUNDS`), the one this CPU
runs fastest (:func:`measure_dtype_seconds`), bf16 only with native bf16: see
:func:`auto_dtype`. Neither int8 nor bf16 stayed within them on the bench (README
"Measured"), so today it is fp32 on every CPU and int8 is chosen by hand (Settings,
``--dtype int8``, ``SIEVE_DTYPE=int8``). ``dtype=None`` keeps the model card's precision
(fp32 on the CPU, bf16 on CUDA).
"""

from __future__ import annotations

import logging
import platform
import warnings
from functools import lru_cache
from pathlib import Path

from core.errors import SieveError

logger = logging.getLogger(__name__)

INT8 = "int8"
AUTO = "auto"
#: dtype names accepted by the Qwen3 scorer (besides ``None``, the model card's precision)
DTYPE_NAMES = ("auto", "float32", "bfloat16", "float16", "int8")
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "qint8": "int8"}


def normalise_dtype(dtype: str | None) -> str | None:
    """The canonical name of a dtype setting (``None`` / ``""`` stay ``None``).

    Raises:
        SieveError: for a name not in :data:`DTYPE_NAMES` (or an alias such as ``bf16``).
    """
    if dtype is None or not str(dtype).strip():
        return None
    name = str(dtype).strip().lower().replace("torch.", "")
    name = _ALIASES.get(name, name)
    if name not in DTYPE_NAMES:
        raise SieveError(f"The dtype must be one of {', '.join(DTYPE_NAMES)}. Got {dtype!r} instead.")
    return name


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags of this machine (``/proc/cpuinfo`` on Linux; empty elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("flags", "Features")):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def has_native_bf16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU multiplies bf16 matrices natively (x86 ``avx512_bf16`` or ``amx_bf16``).

    Without it PyTorch emulates bf16 matmuls, measured 3-4x *slower* than fp32.
    """
    flags = cpu_flags() if flags is None else flags
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def int8_supported(flags: frozenset[str] | None = None) -> bool:
    """Whether dynamic int8 linear layers have fast kernels here (x86-64 with AVX2)."""
    try:
        import torch

        engines = set(torch.backends.quantized.supported_engines)
    except ImportError:
        return False
    flags = cpu_flags() if flags is None else flags
    return bool({"x86", "fbgemm", "onednn"} & engines) and "avx2" in flags and _has_quantize_dynamic()


def _has_quantize_dynamic() -> bool:
    """Whether this PyTorch has the dynamic int8 linear operators (prepack + linear_dynamic)."""
    try:
        import torch

        ops = torch.ops.quantized
        return hasattr(ops, "linear_prepack") and hasattr(ops, "linear_dynamic")
    except (ImportError, RuntimeError, AttributeError):
        return False


#: Whether a faster CPU dtype stayed within the bounds -- largest score difference
#: <= 2e-2 and Kendall's tau >= 0.95 against fp32 over 200 candidates -- in
#: ``bench/rerank_speed.py`` (random weights of the 0.6B architecture). :func:`auto_dtype`
#: picks one only when True here; flip it when a measurement (the ``weights`` test
#: tier on real weights, or the bench) shows it within bounds.
CPU_WITHIN_BOUNDS = {
    "int8": False,  # 28 layers, 200 tweets: 2.7e-2, tau 0.917 (random head); 1.6e-1, tau 0.949 (probe head)
    "bfloat16": False,  # 1.2e-2 at full depth over 64 posts; tau over 200 not measured at full depth
}


#: Expected speed against fp32 when this machine's speed cannot be measured (a CPU other
#: than this one is described by ``flags``): decoder-sized linear layers, measured with
#: AVX2 kernels (int8 1.9-2.1x) and natively on AVX-512 BF16 (bf16 3.2x); README "Measured".
PRIOR_SPEEDUP = {"float32": 1.0, "int8": 2.0, "bfloat16": 3.2}


def cpu_candidates(flags: frozenset[str] | None = None,
                   within_bounds: dict[str, bool] | None = None) -> list[str]:
    """CPU dtypes the automatic choice may pick: float32, plus int8 (x86-64 with AVX2) and
    bfloat16 (native bf16 only) where ``within_bounds`` (default :data:`CPU_WITHIN_BOUNDS`)
    says their scores stayed within the bounds."""
    bounds = CPU_WITHIN_BOUNDS if within_bounds is None else within_bounds
    out = ["float32"]
    if bounds.get(INT8) and int8_supported(flags):
        out.append(INT8)
    if bounds.get("bfloat16") and has_native_bf16(flags):
        out.append("bfloat16")
    return out


@lru_cache(maxsize=4)
def measure_dtype_seconds(dtypes: tuple[str, ...], tokens: int = 256) -> dict[str, float]:
    """Seconds this CPU takes for one decoder-sized MLP (1024 -> 3072 -> 1024 on ``tokens``
    tokens) in each of ``dtypes`` (best of 3 after a warm-up; about 0.1-0.5 s in all).

    Cached per process: the dashboard measures once, when the automatic dtype is first asked.
    """
    import time

    import torch

    torch.manual_seed(0)
    up, down = torch.nn.Linear(1024, 3072, bias=False), torch.nn.Linear(3072, 1024, bias=False)
    x = torch.randn(tokens, 1024)
    out: dict[str, float] = {}
    for name in dtypes:
        if name == INT8:
            cls = int8_linear_class()
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r".*quantize_per_(tensor|channel).*deprecated.*")
                a, b = cls(up), cls(down, rotate=True)
            xin = x
        else:
            dt = getattr(torch, name)
            a, b, xin = up.to(dt), down.to(dt), x.to(dt)
        best = float("inf")
        with torch.inference_mode():
            for i in range(4):
                t0 = time.perf_counter()
                b(torch.nn.functional.silu(a(xin)))
                if i:
                    best = min(best, time.perf_counter() - t0)
        out[name] = best
        up, down = up.float(), down.float()
    logger.info("Measured dtype speed on this CPU (s per decoder-sized MLP): %s", out)
    return out


def auto_dtype(device: str, flags: frozenset[str] | None = None, *,
               seconds: dict[str, float] | None = None,
               within_bounds: dict[str, bool] | None = None) -> str:
    """The automatic dtype for ``device``: the fastest here among those within the score bounds.

    * CUDA: ``"bfloat16"`` (the model card's choice; native on every recent card);
    * CPU: among :func:`cpu_candidates` (float32; int8 on x86-64 with AVX2; bf16 only with
      native bf16; each only when its scores stayed within the bounds, :data:`CPU_WITHIN_BOUNDS`),
      the one with the fewest ``seconds``: measured on this CPU by
      :func:`measure_dtype_seconds` when ``flags`` describe this machine, else taken from
      :data:`PRIOR_SPEEDUP`. Nothing is measured when float32 is the only candidate
      (today: int8 and bf16 left the bounds, README "Measured");
    * MPS and anything else: ``"float32"``.

    Args:
        device: a torch device name (``"cpu"``, ``"cuda:0"``, ``"mps"``).
        flags: CPU flags to decide on (default: this machine's, :func:`cpu_flags`).
        seconds: time per dtype for the same work (tests, or a caller that measured);
            dtypes missing from it are not picked.
        within_bounds: overrides :data:`CPU_WITHIN_BOUNDS`.

    Returns:
        A name from :data:`DTYPE_NAMES` other than ``"auto"``.
    """
    if device.startswith("cuda"):
        return "bfloat16"
    if not device.startswith("cpu"):
        return "float32"
    candidates = cpu_candidates(flags, within_bounds)
    if len(candidates) == 1:
        return candidates[0]
    if seconds is None:
        if flags is None or flags == cpu_flags():
            seconds = measure_dtype_seconds(tuple(candidates))
        else:
            seconds = {name: 1.0 / PRIOR_SPEEDUP[name] for name in candidates}
    timed = [name for name in candidates if name in seconds]
    return min(timed, key=lambda name: (seconds[name], candidates.index(name))) if timed else "float32"


def resolve_dtype(device: str, dtype: str | None) -> str | None:
    """``"auto"`` -> :func:`auto_dtype`; other names canonical; ``None`` stays ``None``.

    Raises:
        SieveError: for an unknown name, or ``"int8"`` on a device other than the CPU.
    """
    name = normalise_dtype(dtype)
    if name == AUTO:
        name = auto_dtype(device)
        logger.info("Automatic dtype on %s: %s", device, name)
    if name == INT8 and not device.startswith("cpu"):
        raise SieveError(f"The int8 dtype runs on the CPU only (dynamic quantisation); the device is "
                         f"{device}. "
                         "Use bfloat16 on a GPU, or choose the CPU as device.")
    return name


#: Largest weight level: 7-bit weights (-63..63) with 8-bit activations. With both at 8 bits
#: the AVX2 kernel (``vpmaddubsw``: two u8 x s8 products summed into a saturating int16)
#: overflows -- 255 * 127 * 2 > 32767 -- and returns wrong sums without a word (measured:
#: 99 % error on a constant input); 255 * 63 * 2 fits. PyTorch's own dynamic linear
#: avoids it by giving up the activations' eighth bit instead (``reduce_range``), which
#: doubled the error of ``down_proj``, whose per-token inputs are heavy-tailed.
WEIGHT_QMAX = 63
#: Block size of the Hadamard rotation applied to ``down_proj``'s input (see :class:`Int8Linear`).
HADAMARD_BLOCK = 64
#: Linear layers whose input is rotated before quantisation (heavy-tailed per token).
ROTATED = ("down_proj",)


def hadamard(n: int):
    """The normalised Sylvester Hadamard matrix of order ``n`` (a power of 2), float32,
    symmetric and orthogonal: ``H @ H == I``."""
    import torch

    if n < 1 or n & (n - 1):
        raise ValueError(f"The Hadamard order must be a power of 2. Got {n} instead.")
    h = torch.ones(1, 1)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h / n ** 0.5


@lru_cache(maxsize=1)
def int8_linear_class():
    """The ``Int8Linear`` module class (defined on first use: importing this module
    does not import torch)."""
    import torch

    class Int8Linear(torch.nn.Module):
        """``y = s * (Q7(W R) @ Q8(R x / s)) + b``: int8 weights and per-token int8 activations.

        ``s`` is each token's absolute maximum (after the rotation), so every token is
        quantised on its own 255-level grid and a post's score never depends on the posts
        batched with it; ``Q7(W)``: weights with one scale per output channel on -63..63
        (:data:`WEIGHT_QMAX`). ``R`` is a block-diagonal Hadamard rotation (blocks of
        :data:`HADAMARD_BLOCK`) when ``rotate`` is set, else the identity: an orthogonal
        change of basis folded into the weights once, which spreads a token's few large
        inputs over their block, so its maximum is closer to its typical value and the grid
        finer (QuaRot-style; costs ~6 % of the layer's work for ``down_proj``).

        The int8 product is ``torch.ops.quantized.linear_dynamic`` (FBGEMM on x86, VNNI
        where present) with its per-call activation range pinned to [-1, 1] by one extra
        row. Input and output float32 of shape (..., in_features) / (..., out_features).
        """

        def __init__(self, linear: torch.nn.Linear, *, rotate: bool = False) -> None:
            super().__init__()
            self.in_features, self.out_features = linear.in_features, linear.out_features
            w = linear.weight.detach().float()
            self.rotate = bool(rotate) and self.in_features % HADAMARD_BLOCK == 0
            if self.rotate:
                self.register_buffer("hadamard", hadamard(HADAMARD_BLOCK), persistent=False)
                w = (w.reshape(self.out_features, -1, HADAMARD_BLOCK) @ self.hadamard).reshape(w.shape)
            scale = (w.abs().amax(dim=1) / WEIGHT_QMAX).clamp_min(1e-12).double()
            zero = torch.zeros(self.out_features, dtype=torch.long)
            with warnings.catch_warnings():  # quantized tensors are deprecated in favour of torchao
                warnings.filterwarnings("ignore", message=r".*quantize_per_(tensor|channel).*deprecated.*")
                qweight = torch.quantize_per_channel(w.contiguous(), scale, zero, 0, torch.qint8)
                self._packed = torch.ops.quantized.linear_prepack(qweight, None)
            bias = linear.bias
            self.bias = (None if bias is None
                         else torch.nn.Parameter(bias.detach().float().clone(), requires_grad=False))

        def forward(self, x):
            shape = x.shape
            x = x.reshape(-1, shape[-1])
            if self.rotate:
                x = (x.reshape(x.shape[0], -1, HADAMARD_BLOCK) @ self.hadamard).reshape(x.shape)
            s = x.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12)
            # One extra row holding -1 and +1 pins PyTorch's per-call range to [-1, 1], so each
            # token is quantised on the same grid relative to its own maximum, whatever else
            # is in the batch (a post's score then depends on that post alone).
            buf = x.new_empty((x.shape[0] + 1, x.shape[1]))
            torch.div(x, s, out=buf[:-1])
            buf[-1].zero_()
            buf[-1, 0], buf[-1, -1] = -1.0, 1.0
            y = torch.ops.quantized.linear_dynamic(buf, self._packed, reduce_range=False)[:-1]
            y.mul_(s)
            if self.bias is not None:
                y = y + self.bias
            return y.reshape(*shape[:-1], self.out_features)

        def extra_repr(self) -> str:
            return (f"in_features={self.in_features}, out_features={self.out_features}, 7-bit weights, "
                    f"per-token 8-bit activations{', Hadamard-rotated input' if self.rotate else ''}")

    return Int8Linear


def quantize_int8(lm):
    """Quantise the decoder's linear layers of a ``*ForCausalLM`` to int8, in place.

    Args:
        lm: a float32 causal LM on the CPU (``lm.get_decoder()`` is quantised;
            ``lm_head`` and the embeddings are left in float32).

    Returns:
        ``lm`` itself (its decoder's ``nn.Linear`` modules replaced by
        :class:`Int8Linear <int8_linear_class>` modules; those named in
        :data:`ROTATED` get the Hadamard rotation).

    Raises:
        SieveError: when this PyTorch has no dynamic quantisation or no int8
            kernels for this CPU (the message says to use float32).
    """
    import torch

    if not _has_quantize_dynamic():
        raise SieveError(f"This PyTorch ({torch.__version__}) has no dynamic int8 quantisation. "
                         "Choose the float32 dtype in Settings (or --dtype float32).")
    param = next(lm.parameters())
    if param.device.type != "cpu" or param.dtype != torch.float32:
        raise SieveError(f"int8 quantisation needs the float32 model on the CPU; it is {param.dtype} on "
                         f"{param.device}.")
    engines = torch.backends.quantized.supported_engines
    if torch.backends.quantized.engine == "none" or not engines:
        raise SieveError(f"This PyTorch has no int8 kernels for this CPU ({platform.machine()}). "
                         "Choose the float32 dtype in Settings (or --dtype float32).")
    decoder = lm.get_decoder() if hasattr(lm, "get_decoder") else lm.model
    targets = [(name, m) for name, m in decoder.named_modules() if type(m) is torch.nn.Linear]
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; the eager API still works in 2.13
        warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization is deprecated.*")
        warnings.filterwarnings("ignore", message=r".*quantize_per_(tensor|channel).*deprecated.*")
        cls = int8_linear_class()
        for name, linear in targets:
            parent_name, _, attr = name.rpartition(".")
            parent = decoder.get_submodule(parent_name) if parent_name else decoder
            setattr(parent, attr, cls(linear, rotate=attr in ROTATED))
    logger.info("Quantised %d linear layers of the decoder to int8 (7-bit per-channel weights, per-token "
                "8-bit activations, %s rotated; engine %s)", len(targets), "/".join(ROTATED),
                torch.backends.quantized.engine)
    return lm


def model_dtype_name(model) -> str:
    """``"int8"`` when the model holds int8 linear layers (:func:`quantize_int8`, or PyTorch's
    own dynamically quantised ones), else its parameters' dtype name (``"float32"``, ...)."""
    kinds = [int8_linear_class()]
    try:
        from torch.ao.nn.quantized.dynamic import Linear as QLinear

        kinds.append(QLinear)
    except ImportError:
        pass
    if any(isinstance(m, tuple(kinds)) for m in model.modules()):
        return INT8
    return str(next(model.parameters()).dtype).replace("torch.", "")
