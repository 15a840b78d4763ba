"""``x @ w`` for the few rows of a tiny-model pass: weights packed in panels, outputs held in registers.

A verify pass multiplies a handful of rows (the last token plus the drafted ones) by every weight
matrix. What it costs on a CPU is reading the weights, once per pass, and the multiply-adds, once per
row. This kernel reads each weight once per pass and makes each further row cost far less than the first:

* ``pack(w)`` turns an ``(in, out)`` matrix into panels of 32 output columns, ``(panels, in, 32)``, each
  panel one contiguous block (done once, when a model is loaded; columns past ``out`` are zeros);
* ``matmul(x, panels, out)`` sweeps each panel once for a tile of up to ``MAX_TILE_ROWS`` rows: every
  row's 32 outputs are two 16-lane vectors in registers, updated by one fused multiply-add per input.

Measured with ``benchmarks/tiny_models.py`` on the project's 2-core AVX-512 machine (docs/tiny_models.md):
a target pass over 5 positions took 1.22x the time of one position and over 9 positions 1.41x, against
1.48x and 2.08x with the previous kernel (a dot product per output, reduced across vector lanes).

Exact whatever the number of rows: every output is the same chain of fused multiply-adds over the
inputs in order, starting from zero, whichever tile computes it (no fast-math reordering), so a row
computed in a pass of many rows equals the same row computed alone, bit for bit.

The tile is written in LLVM IR through a Numba intrinsic because Numba's loop vectorizer, given plain
loops, either reduces each output across lanes or keeps the accumulators in memory. Numba's cache does
not notice edits here in the kernels that call ``matmul`` (``kernels._blocks``): after changing this file,
delete ``core/tiny_models/__pycache__/*.nbi`` (and ``*.nbc``).
"""

from __future__ import annotations

import numpy as np
from llvmlite import binding, ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

LANES = 16  # float32 lanes of one vector (AVX-512; LLVM splits it on narrower machines)
PANEL = 2 * LANES  # output columns per panel
# Rows per tile: 2 accumulator vectors per row must stay in registers (32 on AVX-512, else 16 or fewer).
MAX_TILE_ROWS = 10 if "+avx512f" in binding.get_host_cpu_features().flatten().split(",") else 3


def pack(w: np.ndarray) -> np.ndarray:
    """An ``(in, out)`` float matrix as float32 panels ``(ceil(out / 32), in, 32)``; ``out`` must be a
    multiple of 16. Raises ``ValueError`` otherwise."""
    rows, cols = w.shape
    if cols % LANES:
        raise ValueError(f"a matrix's output size must be a multiple of {LANES}, not {cols}")
    panels = -(-cols // PANEL)
    padded = np.zeros((rows, panels * PANEL), dtype=np.float32)
    padded[:, :cols] = w
    return np.ascontiguousarray(padded.reshape(rows, panels, PANEL).transpose(1, 0, 2))


def _vector_type():
    return ir.VectorType(ir.FloatType(), LANES)


def _emit_tile(builder, fma, x_rows, panel_base, out_rows, inputs, cols, rows: int) -> None:
    """IR for one tile: ``rows`` rows x 32 columns, accumulated over ``inputs`` in order."""
    i64, vty = ir.IntType(64), _vector_type()
    accs = [[cgutils.alloca_once(builder, vty) for _ in range(2)] for _ in range(rows)]
    for acc in (a for row in accs for a in row):
        builder.store(ir.Constant(vty, None), acc)  # zeroinitializer
    undef, zeros = (
        ir.Constant(vty, ir.Undefined),
        ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES),
    )
    with cgutils.for_range(builder, inputs) as loop:
        weights_k = builder.gep(panel_base, [builder.mul(loop.index, i64(PANEL))])
        halves = [
            builder.load(builder.bitcast(builder.gep(weights_k, [i64(h * LANES)]), vty.as_pointer()), align=4)
            for h in range(2)
        ]
        for r in range(rows):
            xk = builder.load(builder.gep(x_rows[r], [loop.index]))
            broadcast = builder.shuffle_vector(
                builder.insert_element(undef, xk, ir.IntType(32)(0)), undef, zeros
            )
            for h in range(2):
                builder.store(builder.call(fma, [broadcast, halves[h], builder.load(accs[r][h])]), accs[r][h])
    for r in range(rows):
        first = builder.bitcast(out_rows[r], vty.as_pointer())
        builder.store(builder.load(accs[r][0]), first, align=4)
        with builder.if_then(builder.icmp_signed(">", cols, i64(LANES))):  # a last panel may hold 16
            second = builder.bitcast(builder.gep(out_rows[r], [i64(LANES)]), vty.as_pointer())
            builder.store(builder.load(accs[r][1]), second, align=4)


def _is_c_float32(array, ndim: int) -> bool:
    return (
        isinstance(array, types.Array)
        and array.dtype == types.float32
        and array.ndim == ndim
        and array.layout == "C"
    )


@intrinsic
def _panel_tile(typingctx, x, panels, out, row, panel, cols, rows):
    """out[row : row + rows, 32 * panel : + cols] = x[row : row + rows] @ that panel (1 <= rows <= MAX)."""
    if not (_is_c_float32(x, 2) and _is_c_float32(panels, 3) and _is_c_float32(out, 2)):
        return None
    sig = types.void(x, panels, out, types.intp, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        xa, pa, oa = (
            context.make_array(t)(context, builder, v)
            for t, v in zip(signature.args[:3], args[:3], strict=True)
        )
        row, panel, cols, rows = args[3:]
        i64, vty = ir.IntType(64), _vector_type()
        inputs, width = builder.extract_value(xa.shape, 1), builder.extract_value(oa.shape, 1)
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vty, [vty] * 3), "llvm.fma.v16f32"
        )
        panel_base = builder.gep(pa.data, [builder.mul(builder.mul(panel, inputs), i64(PANEL))])
        done = builder.append_basic_block("tile.done")
        switch = builder.switch(rows, done)
        for count in range(1, MAX_TILE_ROWS + 1):
            block = builder.append_basic_block(f"tile.rows{count}")
            switch.add_case(ir.Constant(i64, count), block)
            builder.position_at_end(block)
            rows_at = [builder.add(row, i64(r)) for r in range(count)]
            x_rows = [builder.gep(xa.data, [builder.mul(r, inputs)]) for r in rows_at]
            column = builder.mul(panel, i64(PANEL))
            out_rows = [builder.gep(oa.data, [builder.add(builder.mul(r, width), column)]) for r in rows_at]
            _emit_tile(builder, fma, x_rows, panel_base, out_rows, inputs, cols, count)
            builder.branch(done)
        builder.position_at_end(done)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True, error_model="numpy")
def matmul(x, panels, out):
    """out = x @ w for ``panels = pack(w)``: x (m, in), out (m, out) float32, C-contiguous; shapes are
    the caller's to get right (no checks in the loop)."""
    m, width = x.shape[0], out.shape[1]
    tiles = -(-m // MAX_TILE_ROWS)
    for p in range(panels.shape[0]):
        cols = min(PANEL, width - p * PANEL)
        start = 0
        for t in range(tiles):  # balanced: 11 rows with tiles of up to 10 are 6 + 5, not 10 + 1
            rows = (m - start) // (tiles - t)
            _panel_tile(x, panels, out, start, p, cols, rows)
            start += rows
