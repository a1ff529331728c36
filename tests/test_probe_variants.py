"""The staggered batches of sentiment.probe.variants equal running every variant on its own.

- ``step``: one step of each cell (LSTM, GRU, tanh and relu RNN, with and without biases) equals
  PyTorch's own nn.LSTMCell / GRUCell / RNNCell;
- ``occluded_states`` / ``prefix_backward_states``: layer 0, one direction, of every occluded
  variant and every prefix equal the fused one-layer module run on that variant, for every block
  of variants (the first, a middle one, the last, one variant, all), reviews of 1 to 23 tokens;
- ``prefix_probs`` / ``occlusion_probs`` equal the model on every variant (brute force) for
  unidirectional and bidirectional models of 1 and 2 layers and each cell, with blocks and head
  chunks much smaller than the review (so every boundary is crossed), and for a 1-token review.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from sentiment.data.batching import collate
from sentiment.modeling.model import ModelConfig, SentimentRNN, direction_modules
from sentiment.probe import instrument, variants

TOL = 1e-5
CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


def gap(got: torch.Tensor, want: torch.Tensor) -> float:
    """Largest difference, relative where |want| > 1 (a relu RNN's states grow past 10)."""
    return float(((got - want).abs() / want.abs().clamp(min=1)).max())


def one_direction(cell: str, bias: bool = True, relu: bool = False, E: int = 5, H: int = 7, seed: int = 0) -> nn.RNNBase:
    """A one-layer, one-direction module with weights wide enough to saturate gates (a relu RNN's
    narrower, so that its states do not grow by orders of magnitude over 23 steps)."""
    torch.manual_seed(seed)
    kw = {"nonlinearity": "relu"} if relu else {}
    mod = CELLS[cell](E, H, 1, batch_first=True, bias=bias, **kw).eval()
    with torch.no_grad():
        for p in mod.parameters():
            p.uniform_(-0.4, 0.4) if relu else p.uniform_(-1.0, 1.0)
    return mod


CASES = [("lstm", True, False), ("lstm", False, False), ("gru", True, False), ("gru", False, False),
         ("rnn", True, False), ("rnn", True, True), ("rnn", False, False)]
IDS = [f"{c}-{'bias' if b else 'nobias'}{'-relu' if r else ''}" for c, b, r in CASES]


@pytest.mark.parametrize("cell,bias,relu", CASES, ids=IDS)
def test_step_equals_torch_cell(cell, bias, relu):
    """Both members (directions) of a step at once, each against its own torch cell."""
    mods = [one_direction(cell, bias, relu, seed=s) for s in (0, 1)]
    kw = {"nonlinearity": "relu"} if relu else {}
    refs = [{"lstm": nn.LSTMCell, "gru": nn.GRUCell, "rnn": nn.RNNCell}[cell](5, 7, bias=bias, **kw) for _ in mods]
    with torch.no_grad():
        for ref, mod in zip(refs, mods):
            for name in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if bias else ()):
                getattr(ref, name).copy_(getattr(mod, f"{name}_l0"))
        x, h, c = torch.randn(2, 4, 5), torch.randn(2, 4, 7), torch.randn(2, 4, 7)
        r = variants.recurrence(mods)
        out, c_new = h.clone(), c.clone()
        gi = torch.stack([r.project(x[m], m) for m in (0, 1)])  # [2, 4, G*H]
        variants.step(r, gi, out, c_new if cell == "lstm" else None, slice(0, 2))  # in place
        one = h[1:].clone()  # member 1 alone, its input term shared by every row
        variants.step(r, r.project(x[1, :1], 1)[None], one, c[1:].clone() if cell == "lstm" else None, slice(1, 2))
        for m, ref in enumerate(refs):
            want = ref(x[m], (h[m], c[m])) if cell == "lstm" else (ref(x[m], h[m]),)
            assert gap(out[m], want[0]) < TOL
            if cell == "lstm":
                assert gap(c_new[m], want[1]) < TOL
        want = refs[1](x[1, :1].expand(4, 5), (h[1], c[1]) if cell == "lstm" else h[1])
        assert gap(one[0], want[0] if cell == "lstm" else want) < TOL


def run_direction(mod: nn.RNNBase, x: torch.Tensor, forward: bool) -> torch.Tensor:
    """The fused module on each row of x [n, T, E] read forwards or backwards -> h [n, T, H], rows = tokens."""
    with torch.no_grad():
        return mod(x)[0] if forward else mod(x.flip(1))[0].flip(1)


def blocks_of(T: int) -> list[tuple[int, int]]:
    """(a, n) blocks: all variants, the first, a middle, the last, one variant."""
    out = {(0, T), (0, max(1, T // 3)), (T // 3, max(1, T // 3)), (T - max(1, T // 3), max(1, T // 3)), (T // 2, 1), (T - 1, 1)}
    return sorted((a, n) for a, n in out if n >= 1 and a + n <= T)


def _lstm_c(mod: nn.LSTM, x: torch.Tensor, t: int, forward: bool) -> torch.Tensor:
    """c_t of the review x [T, E] in one direction: the fused module's final c over the tokens up to t."""
    with torch.no_grad():
        seq = x[: t + 1] if forward else x[t:].flip(0)
        return mod(seq[None])[1][1][0, 0]


@pytest.mark.parametrize("T", [1, 2, 5, 23])
@pytest.mark.parametrize("D", [1, 2], ids=["forward", "both"])
@pytest.mark.parametrize("cell,bias,relu", CASES, ids=IDS)
def test_occluded_states_equal_each_variant_run_alone(cell, bias, relu, D, T):
    mods = [one_direction(cell, bias, relu, seed=T + s) for s in range(D)]  # member 0 forward, 1 backward
    x, unk = torch.randn(T, 5), torch.randn(5)
    occluded = x.expand(T, T, 5).clone()
    occluded[torch.arange(T), torch.arange(T)] = unk  # variant j: token j is <unk>
    want = [run_direction(mod, occluded, m == 0) for m, mod in enumerate(mods)]  # [T, T, H] each
    own = [{"h": run_direction(mod, x[None], m == 0)[0]} for m, mod in enumerate(mods)]
    if cell == "lstm":  # the review's own cell states, from the fused module run one token at a time
        for m, mod in enumerate(mods):
            own[m]["c"] = torch.stack([_lstm_c(mod, x, t, m == 0) for t in range(T)])
    r = variants.recurrence(mods)
    for a, n in blocks_of(T):
        b = a + n
        sizes = variants.packed_sizes(T, a, b, D)
        N = sum(sizes)
        table = torch.full((2 + D * (N + T), 7), float("nan"))  # the packed states from row 2, the review's after them
        table[2 + D * N:] = torch.cat([o["h"] for o in own])
        with torch.no_grad():
            last = variants.occluded_states(r, x, unk, own, a, b, variants.Packed(table[2:2 + D * N].view(D, N, 7), sizes))
        for rows in [slice(a + i, b) for i in sorted({0, n // 2, n - 1})]:  # every variant, the later half, the last
            got = table[variants.occluded_rows(T, a, b, D, rows, new=2, own=2 + D * N)]  # [k, T, D, H]
            for m in range(D):
                assert gap(got[:, :, m], want[m][rows]) < TOL, (m, a, n, rows)
        for m in range(D):  # each variant's last state (member 1's rows in reverse order)
            assert gap(last[m] if m == 0 else last[m].flip(0), want[m][a:b, -1 if m == 0 else 0]) < TOL
        _check_pooled(r, x, unk, own, a, b, want)


def _check_pooled(r, x, unk, own, a, b, want):
    """occluded_states with a Pooled sink, started from the review's share, pools each variant whole."""
    D, T, n = len(own), x.shape[0], b - a
    j, t = torch.arange(a, b)[:, None], torch.arange(T)[None, :]
    for kind in ("max", "mean"):
        acc = []
        for m in range(D):
            review = (t < j) if m == 0 else (t > j)  # [n, T]: where variant j is the review
            share = want[m][a:b].masked_fill(~review[..., None], float("-inf") if kind == "max" else 0.0)
            share = share.amax(1) if kind == "max" else share.sum(1)  # [n, H]
            acc.append(share if m == 0 else share.flip(0))
        pooled = torch.stack(acc)
        with torch.no_grad():
            variants.occluded_states(r, x, unk, own, a, b, variants.Pooled(pooled, kind))
        for m in range(D):
            got = pooled[m] if m == 0 else pooled[m].flip(0)
            whole = want[m][a:b].amax(1) if kind == "max" else want[m][a:b].sum(1)
            assert gap(got, whole) < TOL, (kind, m, a, n)


@pytest.mark.parametrize("T", [1, 2, 5, 23])
@pytest.mark.parametrize("cell,bias,relu", CASES, ids=IDS)
def test_prefix_backward_states_equal_each_prefix_run_alone(cell, bias, relu, T):
    mod = one_direction(cell, bias, relu, seed=T + 1)
    x = torch.randn(T, 5)
    r = variants.recurrence([mod])
    for a, n in blocks_of(T):
        S = a + n
        sizes = variants.prefix_sizes(a, S)
        N = sum(sizes)
        table = torch.full((N + 2, 7), float("nan"))
        table[-1] = 0  # the pad row
        pooled = torch.full((1, n, 7), float("-inf"))
        with torch.no_grad():
            last = variants.prefix_backward_states(r, r.project(x), a, S, variants.Packed(table[None, 1:N + 1], sizes))
            variants.prefix_backward_states(r, r.project(x), a, S, variants.Pooled(pooled, "max"))
        for rows in [slice(a + i, S) for i in sorted({0, n // 2, n - 1})]:  # every prefix, the longer half, the longest
            got = table[variants.prefix_rows(a, S, rows, S, new=1, pad=N + 1)]  # [k, S, H], rows = tokens
            for p in range(rows.start, rows.stop):
                want = run_direction(mod, x[None, : p + 1], forward=False)[0]  # [p + 1, H]
                assert gap(got[p - rows.start, : p + 1], want) < TOL, (a, n, p)
                assert (got[p - rows.start, p + 1:] == 0).all()  # the pad row past the prefix's end
                assert gap(last[0, p - a], want[0]) < TOL  # its last state, at token 0
                assert gap(pooled[0, p - a], want.amax(0)) < TOL  # pooled as it ran


# ---- the whole model, against brute force ------------------------------------------------------------

REVIEW = "I loved the acting but the plot was not good at all ! the film was awful and i hated it"


def model_probs(ckpt, ids: list[list[int]]) -> np.ndarray:
    with torch.no_grad():
        i, L = collate(ids)
        return ckpt.probabilities(ckpt.model(i, L)).numpy()[:, 1]


def wide(ckpt):
    with torch.no_grad():  # wider weights: more varied predictions than the default init
        for p in ckpt.model.parameters():
            p.mul_(3)
        ckpt.model.embedding.weight[0] = 0
    return ckpt


def variant_probs(ckpt, ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    model = ckpt.model.eval()
    with torch.no_grad():
        x = model.embedding(torch.tensor([ids]))
        records = instrument.recompute(model.rnn, x, torch.tensor([len(ids)]))
    return (variants.prefix_probs(model, records, x, ckpt.temperature),
            variants.occlusion_probs(model, records, x, 1, ckpt.temperature))


MODELS = [dict(cell=c, pooling=p, layers=l, bidirectional=bi)
          for c, p, l, bi in [("lstm", "max", 1, True), ("gru", "attention", 1, True), ("rnn", "mean", 1, True),
                              ("lstm", "last", 1, True), ("lstm", "attention", 2, True), ("gru", "last", 2, True),
                              ("rnn", "max", 2, False), ("lstm", "mean", 1, False), ("gru", "max", 2, False),
                              ("gru", "last", 1, False), ("rnn", "attention", 1, False)]]
MODEL_IDS = ["-".join(str(v) for v in kw.values()) for kw in MODELS]


def pooled_as_it_goes(kw: dict) -> bool:
    """Which of MODELS pool each variant during the loop (pools_as_it_goes), by their config."""
    return kw["layers"] == 1 and (kw["pooling"] != "attention" or kw["bidirectional"])


@pytest.mark.parametrize("path", ["default", "kept", "kept-in-small-blocks"])
@pytest.mark.parametrize("kw", MODELS, ids=MODEL_IDS)
def test_variants_equal_the_model_on_every_variant(tiny_checkpoint, monkeypatch, kw, path):
    """Every prefix and occluded variant of a 40-token review against the model on each of them,
    on the path the model takes and on the one that keeps every state (in one block, and in blocks
    of 7 variants with 3 pooled together: every boundary crossed)."""
    ckpt = wide(tiny_checkpoint(**kw, hidden=6, embed=5))
    assert variants.pools_as_it_goes(ckpt.model) == pooled_as_it_goes(kw)
    if path != "default":
        monkeypatch.setattr(variants, "pools_as_it_goes", lambda model: False)
    if path == "kept-in-small-blocks":
        dirs = 2 if kw["bidirectional"] else 1
        monkeypatch.setattr(variants, "VARIANT_FLOATS", 7 * 40 * dirs * 6)
        monkeypatch.setattr(variants, "HEAD_ROWS", 3 * 40)
    ids = ckpt.encode(" ".join([REVIEW, "zzzunknown", REVIEW.upper()])).ids[:40]
    T = len(ids)
    assert T == 40
    pp, occ = variant_probs(ckpt, ids)
    want_p = model_probs(ckpt, [ids[: t + 1] for t in range(T)])
    want_o = model_probs(ckpt, [ids[:t] + [1] + ids[t + 1:] for t in range(T)])
    assert pp.shape == occ.shape == (T,)
    assert np.abs(pp - want_p).max() < TOL
    assert np.abs(occ - want_o).max() < TOL
    # the variants differ from each other, so a result that ignored them would fail above
    assert want_p.std() > 1e-3 and want_o.std() > 1e-4


HEADS = [dict(merge="sum", pooling="max"), dict(merge="mul", pooling="last"), dict(output_activation="tanh", pooling="mean"),
         dict(hidden_dense=4, pooling="max"), dict(hidden_dense=3, hidden_activation="tanh", pooling="attention")]


@pytest.mark.parametrize("head", HEADS, ids=lambda h: "-".join(str(v) for v in h.values()))
def test_variants_of_models_with_other_heads(head):
    """Imported models' heads (directions merged, tanh before pooling, a Dense layer): the states are
    kept where pooling step by step would not give the head's numbers, and every variant is exact."""
    torch.manual_seed(3)
    model = SentimentRNN(ModelConfig(vocab_size=30, embed_dim=5, hidden_size=6, cell="gru", dropout=0.0, **head)).eval()
    wide(SimpleNamespace(model=model))
    assert variants.pools_as_it_goes(model) == ("hidden_dense" in head)
    ids = torch.randint(2, 30, (25,)).tolist()
    with torch.no_grad():
        x = model.embedding(torch.tensor([ids]))
        records = instrument.recompute(model.rnn, x, torch.tensor([25]))
        pp = variants.prefix_probs(model, records, x)
        occ = variants.occlusion_probs(model, records, x, 1)
        p_of = lambda rows: torch.softmax(model(*collate(rows)), -1)[:, 1].numpy()  # noqa: E731
        assert np.abs(pp - p_of([ids[: t + 1] for t in range(25)])).max() < TOL
        assert np.abs(occ - p_of([ids[:t] + [1] + ids[t + 1:] for t in range(25)])).max() < TOL


def test_attention_with_large_scores_keeps_the_states(tiny_checkpoint):
    """Scores past Attention.MAX_SHIFT could underflow exp(score - |v|_1): such a model keeps the
    states and pools them whole (softmax's own max), and is still exact."""
    ckpt = wide(tiny_checkpoint(cell="lstm", pooling="attention", hidden=6, embed=5))
    with torch.no_grad():
        ckpt.model.pool.attention.v.weight.mul_(100 / ckpt.model.pool.attention.v.weight.abs().sum())
    assert not variants.pools_as_it_goes(ckpt.model)
    ids = ckpt.encode(REVIEW).ids
    pp, occ = variant_probs(ckpt, ids)
    T = len(ids)
    assert np.abs(pp - model_probs(ckpt, [ids[: t + 1] for t in range(T)])).max() < TOL
    assert np.abs(occ - model_probs(ckpt, [ids[:t] + [1] + ids[t + 1:] for t in range(T)])).max() < TOL


@pytest.mark.parametrize("kw", MODELS, ids=MODEL_IDS)
def test_a_one_token_review(tiny_checkpoint, kw):
    ckpt = wide(tiny_checkpoint(**kw, hidden=6, embed=5))
    ids = ckpt.encode("good").ids
    assert len(ids) == 1
    pp, occ = variant_probs(ckpt, ids)
    assert np.abs(pp - model_probs(ckpt, [ids])).max() < TOL
    assert np.abs(occ - model_probs(ckpt, [[1]])).max() < TOL


def test_recurrence_reads_the_models_parameters(tiny_checkpoint):
    """The rearranged weights follow the model's Parameters (no stale copy between calls)."""
    ckpt = tiny_checkpoint(cell="lstm", hidden=6, embed=5)
    mods = direction_modules(ckpt.model.rnn)[0]
    before = variants.recurrence(mods).W_hh_T.clone()
    with torch.no_grad():
        ckpt.model.rnn.weight_hh_l0.mul_(2)
    after = variants.recurrence(mods).W_hh_T
    assert torch.allclose(after[0], 2 * before[0]) and torch.equal(after[1], before[1])
