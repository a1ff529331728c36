"""The Models page's "Open your own model": upload a PyTorch, Keras or PaddlePaddle file (and its
vocabulary), see what the file says and what GateScope would have to assume, answer how the model was
fed (each choice with its effect on one review) or check it against a few of its framework's own
outputs, then convert it into ``<runs root>/imported/<name>/``; every model picker then lists it.

Widgets only: the file is read in a limited child process (``sentiment.interop.sandbox`` through
``convert.read_structure``); the choices' effects are ``sentiment.interop.preview``'s, the check is
``sentiment.interop.verify``'s, the conversion ``convert.convert``'s. No upload can take the page down:
every error is shown in place of the result, and the rest of the Models page is drawn as always.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from pathlib import Path

import streamlit as st

from sentiment import i18n as tables
from sentiment import spec
from sentiment.errors import GateScopeError, InputError
from sentiment.interop import convert as conv
from sentiment.interop import preview, sandbox, verify
from sentiment.interop import recipe as recipes
from sentiment.modeling.catalog import ModelEntry, imported_root

from . import common, waiting
from .i18n import t

log = logging.getLogger("gatescope.ui")

K = "om"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MODEL_MB = 64  # per model file: .streamlit/config.toml's server.maxUploadSize is the same (the largest upload)
VOCAB_MB = 16
EXAMPLES_MB = 1  # verify.MAX_BYTES
PROXY_MB = 10  # docs/proxy: the README's reverse proxy takes request bodies up to 11 MB
WEIGHT_TYPES = spec.UPLOAD_TYPES
FACT_ORDER = common.IMPORT_FACTS


# ---- words: every fact and value through the string tables ----------------------------------------


framework_name = common.framework_name
fact_name = common.fact_name


def value_words(fact: str, value, s=None) -> str:
    """A fact's value in the page's language, as markdown (``s``: the structure, for token names and
    directions; a token of the vocabulary is shown as code)."""
    if fact == "tokenizer":
        return _tokenizer_words(value)
    if fact in ("pad_id", "unk_id", "start_id"):
        if value is None:
            return t("own.v.none")
        itos = getattr(getattr(s, "vocab", None), "itos", None) or []
        token = itos[value] if isinstance(value, int) and 0 <= value < len(itos) and itos[value] else None
        return f"{value} (`{token.replace('`', '')[:40]}`)" if token else str(value)
    if fact == "index_from":
        return t("own.v.index_from0") if not value else t("own.v.index_from", k=value)
    if fact == "max_len":
        return t("own.v.max_len", n=value)
    if fact == "padding":
        return t(f"own.v.padding.{value}") if value in ("pre", "post", "masked") else str(value)
    if fact == "truncating":
        return t(f"own.v.trunc.{value}") if value in ("pre", "post") else str(value)
    if fact == "padding_idx":
        return t("own.v.none") if value is None else t("own.v.pidx", p=value)
    if fact == "reduction":
        one_way = s is not None and not s.bidirectional and value in ("final_states", "last", "last_step")
        key = "final_one" if one_way else "final_states" if value == "last" else value
        return t(f"own.v.red.{key}") if key in ("final_one", "final_states", "last_step", "max", "mean") else str(value)
    if fact == "tanh":
        return t("own.v.yes") if value else t("own.v.no")
    if fact == "hidden_activation":
        return t("own.v.linear") if value == "linear" else str(value)
    return str(value)


def _tokenizer_words(spec_) -> str:
    if not isinstance(spec_, dict):
        return str(spec_)
    mode, lang = spec_.get("mode", "word"), spec_.get("language", "en")
    if mode in ("list", "keras"):
        return t(f"own.v.tok.{mode}")
    kind = "zhword" if mode == "word" and lang == "zh" else mode
    return t(f"own.v.tok.{kind}" + ("" if spec_.get("marks") is False else "_marks"))


def source_words(source: str) -> tuple[str, str]:
    """("read" | "given" | "assumed" | "found", its label) of a source string."""
    kind = source.split(":", 1)[0].strip()
    kind = "found" if kind.startswith("found") else kind if kind in ("read", "given", "assumed") else "assumed"
    return kind, t(f"own.src.{kind}")


# ---- the block ----------------------------------------------------------------------------------


def render() -> None:
    """The expander; whatever an upload does, the error is shown here and the page goes on."""
    with st.expander(t("open.title"), icon=":material/upload_file:"):
        try:
            _block()
        except GateScopeError as e:
            common.error(e)
        except Exception as e:  # noqa: BLE001 - an upload must never take the Models page down
            log.exception("open your own model")
            st.error(t("own.unexpected", err=type(e).__name__), icon=":material/error:")


def _block() -> None:
    st.caption(t("open.intro"))
    st.caption(t("own.limits", gib=sandbox.memory_limit() / 2**30, seconds=sandbox.seconds_limit(),
                 tokens=spec.READ_LIMIT))
    c1, c2 = st.columns(2)
    weights = c1.file_uploader(t("open.weights"), key=f"{K}_weights", type=WEIGHT_TYPES, max_upload_size=MODEL_MB,
                               help=t("own.weights.help", mb=MODEL_MB, proxy=PROXY_MB))
    vocab = c2.file_uploader(t("open.vocab"), key=f"{K}_vocab", type=["json", "txt"], max_upload_size=VOCAB_MB,
                             help=t("own.vocab.help", mb=VOCAB_MB))
    recipe = _recipe()
    if recipe is None or weights is None:
        return
    with tempfile.TemporaryDirectory(prefix="gatescope-upload-") as tmp:
        src = _save_upload(weights, Path(tmp), MODEL_MB)
        vpath = _save_upload(vocab, Path(tmp) / "vocab", VOCAB_MB) if vocab is not None else None
        data = src.read_bytes()
        digest = hashlib.sha256(data + b"|" + (vpath.read_bytes() if vpath else b"-")
                                + json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:24]
        _forget_answers_of_another_file(digest)
        with st.spinner(t("own.reading")):
            s = conv.read_structure(data, src.name, recipe, vpath)
        structure_view(s, recipe)
        if s.vocab is None:
            st.info(t("own.needs_vocab"), icon=":material/dictionary:")
            return
        answers, open_facts, review = questions(s, recipe, lambda extra: conv.read_structure(
            data, src.name, preview.recipe_of(extra, recipe), vpath))
        checked = check_view(s, recipe, digest)
        convert_view(src, vpath, recipe, answers, open_facts, checked, review)


def _recipe() -> dict | None:
    """What the user knows beyond the file, as a recipe (None after showing why it is not one)."""
    if not st.toggle(t("own.recipe.toggle"), key=f"{K}_recipe_on", help=t("own.recipe.help")):
        return {}
    text = st.text_area(t("open.recipe"), key=f"{K}_recipe", placeholder='{"tanh": true, "reduction": "last_step"}')
    if not text.strip():
        return {}
    try:
        extra = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        st.error(t("own.recipe.bad_json", err=getattr(e, "msg", type(e).__name__)), icon=":material/error:")
        return None
    try:
        return recipes.check(extra)
    except GateScopeError as e:
        common.error(e)
        return None


def _save_upload(upload, folder: Path, most_mb: int) -> Path:
    if upload.size > most_mb * 2**20:
        raise InputError("own.too_big", file=Path(upload.name).name, mb=upload.size / 2**20, most=most_mb)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe_name(upload.name)
    path.write_bytes(upload.getvalue())
    return path


def safe_name(name: str) -> str:
    """A browser's file name as a plain file name here: its extension kept (it tells the framework),
    nothing that leaves the folder ("..", "/") or hides the file."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", Path(str(name).replace("\\", "/")).name).lstrip(".")
    return stem[-120:] or "upload"


def _forget_answers_of_another_file(digest: str) -> None:
    """Answers and a check belong to one file, vocabulary and recipe: a new one starts afresh."""
    if st.session_state.get(f"{K}_digest") != digest:
        for key in [k for k in st.session_state if str(k).startswith((f"{K}_q_", f"{K}_p_"))]:
            del st.session_state[key]
        st.session_state.pop(f"{K}_anyway", None)
        st.session_state[f"{K}_digest"] = digest


# ---- what the file says ---------------------------------------------------------------------------


def structure_view(s, recipe: dict) -> None:
    """The model's parts, then every fact of how it ran with where it came from, in the page's language."""
    st.markdown(f"**{t('open.found')}**")
    lines = [t("own.s.framework", framework=framework_name(s.framework)),
             t("own.s.embedding", n=f"{s.vocab_size:,}", d=s.embed_dim),
             t("own.s.recurrent", layers=s.num_layers, bi=t("own.s.bi") if s.bidirectional else "",
               cell=s.cell.upper(), hidden=s.hidden_size)]
    if s.merge != "concat":
        lines.append(t("own.s.merge", merge=s.merge))
    if s.hidden_dense:
        lines.append(t("own.s.hidden", n=s.hidden_dense))
    lines.append(t(f"own.s.head.{'sigmoid' if s.head == 'sigmoid' else 'softmax'}"))
    st.markdown("\n".join(f"- {line}" for line in lines))
    sources = verify.fact_sources(s, recipe)
    values = verify.current_values(s, s.vocab, recipe) if s.vocab is not None else {}
    shown = [f for f in FACT_ORDER if f in values and f in sources and f in _relevant(s)]
    if not shown:
        return
    st.markdown(f"**{t('own.facts.title')}**")
    st.caption(t("own.facts.legend"))
    rows = []
    for f in shown:
        kind, label = source_words(sources[f])
        mark = {"read": "✓", "given": "✎", "found": "✓", "assumed": "?"}[kind]
        line = f"- {mark} **{fact_name(f)}**: {value_words(f, values[f], s)} · *{label}*"
        if kind == "assumed":
            line += f" — {t(f'own.why.{f}')}"
        rows.append(line)
    st.markdown("\n".join(rows))


def _relevant(s) -> list[str]:
    return verify.relevant_facts(s, [verify.Example(0, text="x", positive=0.5)])


def _md(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*").replace("_", "\\_")


# ---- how was it fed? --------------------------------------------------------------------------------


def default_review(language: str) -> str:
    """The review each choice is tried on, until the user types their own: one in the model's language
    (the interface's may differ), English for a language the tables do not have."""
    return tables.t("own.q.review.example", language)


def questions(s, recipe: dict, reread) -> tuple[dict, list[str], str]:
    """A choice for each assumed fact, each value with the P(positive) it gives one review. Returns
    (the answers, the facts left unanswered, the review)."""
    facts = preview.assumed(s, recipe)
    language = preview.language(s)
    if not facts:
        st.success(t("own.q.none"), icon=":material/task_alt:")
        return {}, [], default_review(language)
    opts = preview.options(s, recipe)
    cur = preview.current(s, recipe)
    st.markdown(f"**{t('own.q.title', n=len(facts))}**")
    st.caption(t("own.q.intro"))
    review = st.text_input(t("own.q.review"), value=default_review(language),
                           key=f"{K}_review", max_chars=2000)
    answers = {f: opts[f][i] for f in facts if isinstance(i := st.session_state.get(f"{K}_q_{f}"), int)
               and 0 <= i < len(opts[f])}
    base = dict(answers)  # the other facts of each choice's reading
    if "tokenizer" in facts and "tokenizer" not in answers:  # a guess that cannot read the review (English
        ps = _effects(s, recipe, answers, review, "tokenizer", opts["tokenizer"], reread)  # words of a Chinese
        if ps and ps[0] is None:  # model) would leave every other choice without a number: the first that can
            base["tokenizer"] = next((v for v, p in zip(opts["tokenizer"], ps, strict=True) if p is not None), cur["tokenizer"])
    cols = st.columns(2)
    for n, f in enumerate(facts):
        values = opts[f]
        ps = _effects(s, recipe, base, review, f, values, reread)
        captions = []
        for v, p in zip(values, ps, strict=True):
            words = t("own.q.p", p=p) if p is not None else t("own.q.p_none")
            captions.append(words + (" · " + t("own.q.guess") if v == cur[f] else ""))
        with cols[0 if n < (len(facts) + 1) // 2 else 1]:  # in order, down the left column first
            st.radio(fact_name(f), list(range(len(values))), index=None, key=f"{K}_q_{f}",
                     format_func=lambda i, f=f, values=values: value_words(f, values[i], s),
                     captions=captions, help=t(f"own.why.{f}"), horizontal=len(values) > 4)
            known = [p for p in ps if p is not None]
            if len(known) > 1 and max(known) - min(known) < 1e-6:
                st.caption(t("own.q.same"))
    open_facts = [f for f in facts if f not in answers]
    st.caption(t("own.q.answered", k=len(answers), n=len(facts)))
    return answers, open_facts, review


def _effects(s, recipe: dict, answers: dict, review: str, fact: str, values: list, reread) -> list[float | None]:
    """P(positive) per value (kept for the session: a rerun recomputes only what changed)."""
    memo = st.session_state.setdefault(f"{K}_p_memo", {})
    others = {k: v for k, v in answers.items() if k != fact}
    key = (st.session_state.get(f"{K}_digest"), json.dumps(others, sort_keys=True, default=str), review, fact,
           json.dumps(values, sort_keys=True, default=str))
    if key in memo:
        return memo[key]
    if not review.strip():
        return [None] * len(values)
    if fact == "index_from" or "index_from" in others:  # another offset moves every word: read the file again
        out = []
        for v in values:
            k = v if fact == "index_from" else others["index_from"]
            try:
                s2 = reread({"index_from": k})
                rest = {f: x for f, x in {**others, fact: v}.items() if f != "index_from"}
                out.append(preview.p_positive(s2, preview.recipe_of({"index_from": k}, recipe), rest, review))
            except GateScopeError:
                out.append(None)
    else:
        out = preview.effects(s, recipe, others, review, fact, values)
    if len(memo) > 500:
        memo.clear()
    memo[key] = out
    return out


# ---- check against the framework's own outputs --------------------------------------------------------


def check_view(s, recipe: dict, digest: str) -> dict | None:
    """Examples pasted or uploaded, checked on a click; returns the check's outcome for this file, or None."""
    st.markdown(f"**{t('own.check.title')}**")
    st.caption(t("own.check.intro", example=verify.EXAMPLE))
    c1, c2 = st.columns([3, 2])
    pasted = c1.text_area(t("own.check.paste"), key=f"{K}_examples", height=120,
                          placeholder=verify.EXAMPLE + "\n" + '{"text": "a dull film", "positive": 0.08}')
    upload = c2.file_uploader(t("own.check.file"), key=f"{K}_examples_file", type=["jsonl", "json", "txt"],
                              max_upload_size=EXAMPLES_MB, help=t("own.check.file.help", mb=EXAMPLES_MB))
    text = pasted.strip()
    if upload is not None:
        if upload.size > verify.MAX_BYTES:
            raise InputError("verify.too_big", size=upload.size, most=verify.MAX_BYTES)
        try:
            text = upload.getvalue().decode("utf-8-sig").strip()
        except UnicodeDecodeError as e:
            raise InputError("verify.unreadable", file=Path(upload.name).name, err=e) from None
    if c2.button(t("own.check.run"), key=f"{K}_check_go", disabled=not text, icon=":material/fact_check:"):
        try:
            examples = verify.read_examples(text + "\n")  # with a newline: always the text itself, never a path
            res = waiting.run_heavy(lambda: verify.run_check(s, s.vocab, examples, recipe), task="verify",
                                    units=len(examples), label=t("own.check.running"))
        except GateScopeError as e:
            st.session_state[f"{K}_check"] = {"digest": digest, "error": e, "examples": text}
        else:
            st.session_state[f"{K}_check"] = {"digest": digest, "examples": text, **_outcome(res)}
    done = st.session_state.get(f"{K}_check")
    if not done:
        return None
    if done.get("digest") != digest:
        st.caption(t("own.check.stale"))
        return None
    if done.get("examples") != text:
        st.caption(t("own.check.changed"))
        return None
    if "error" in done:
        common.error(done["error"])
        return None
    show_outcome(done, s)
    return done


def _outcome(res) -> dict:
    """What the page keeps of a check (plain values: no tensors in the session)."""
    return {"reproduced": bool(res.reproduced), "max_diff": float(res.max_diff), "n": int(res.examples),
            "framework": res.framework, "found": dict(res.found), "undetermined": list(res.undetermined),
            "reading": dict(res.reading), "line": int(getattr(res, "worst_line", 0) or 0),
            "no_ids": int(getattr(res, "no_ids_match", 0) or 0)}


def show_outcome(done: dict, s) -> None:
    if done["reproduced"]:
        st.success(t("own.check.ok", framework=framework_name(done["framework"]), n=done["n"], diff=done["max_diff"]),
                   icon=":material/verified:")
        if done["found"]:
            st.markdown(t("own.check.found", facts=_facts_words(done["found"], s)))
        if done["undetermined"]:
            st.caption(t("own.check.open", facts=", ".join(fact_name(f) for f in done["undetermined"])))
        return
    if done["no_ids"]:
        st.error(t("own.check.no_ids", line=done["no_ids"]), icon=":material/cancel:")
        return
    closest = {f: v for f, v in done["reading"].items() if f in done["found"] or f in done["undetermined"]}
    st.error(t("own.check.no", reading=_facts_words(closest, s) or t("own.check.as_assumed"), diff=done["max_diff"],
               line=done["line"]), icon=":material/cancel:")


def _facts_words(facts: dict, s) -> str:
    return "; ".join(f"{fact_name(f)}: {value_words(f, v, s)}" for f, v in facts.items())


# ---- convert ------------------------------------------------------------------------------------------


def convert_view(src: Path, vpath: Path | None, recipe: dict, answers: dict, open_facts: list[str],
                 checked: dict | None, review: str) -> None:
    st.markdown(f"**{t('own.convert.title')}**")
    verified = bool(checked and checked.get("reproduced"))
    failed = bool(checked and not checked.get("reproduced"))
    if verified:
        st.caption(t("own.convert.with_check"))
    elif not open_facts and not failed:
        st.caption(t("own.convert.with_answers"))
    else:
        if open_facts:
            st.warning(t("own.convert.needs", facts=", ".join(fact_name(f) for f in open_facts)),
                       icon=":material/help:")
    ready = verified or (not open_facts and not failed)
    anyway = False
    if not ready:
        anyway = st.checkbox(t("own.convert.anyway"), key=f"{K}_anyway")
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    name = c1.text_input(t("open.name"), value=_default_name(src), key=f"{K}_name")
    go = c2.button(t("open.convert"), key=f"{K}_go", type="primary", disabled=not (ready or anyway))
    if not go:
        return
    if not _NAME.match(name):
        st.error(t("open.bad_name"), icon=":material/error:")
        return
    out = imported_root() / name
    if out.exists():
        st.error(t("open.exists", name=name), icon=":material/error:")
        return
    full = preview.recipe_of(answers, recipe)
    check = checked["examples"] + "\n" if checked else None  # the text itself (verify reads a one-line string as a path)
    out.parent.mkdir(parents=True, exist_ok=True)
    path, _ = waiting.run_heavy(lambda: conv.convert(src, out, vpath, full, check=check, force=bool(check) and not verified),
                                task="convert", label=t("own.converting"))
    common.refresh_models()
    st.success(t("open.done", name=name), icon=":material/check_circle:")
    _after(path, name, review)


def _default_name(src: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "-", Path(src).stem).lstrip("._-")[:64]
    return stem or "my-model"


def _after(path: Path, name: str, review: str) -> None:
    """The converted model's own answer on the review, and what its card says about verification."""
    try:
        ckpt = common.load_model(str(path))
        from sentiment.modeling.predict import predict

        if review.strip():
            st.caption(t("own.done.p", name=name, p=predict(ckpt, review).positive))
        common.show_imported_status(ckpt.card)
    except GateScopeError as e:
        common.error(e)


# ---- the Models page's list of own models -------------------------------------------------------


def own_models(entries: list[ModelEntry]) -> None:
    """The Models page's list of imported models, each with its status."""
    own = [e for e in entries if e.source == "imported"]
    if not own:
        return
    st.subheader(t("own.list.title"))
    for e in own:
        kind, words = common.imported_status(e.card)
        icon = ":material/verified:" if kind == "ok" else ":material/help:"
        st.markdown(f"- {icon} **{_md(e.name)}** ({framework_name((e.card.get('imported') or {}).get('framework', '?'))}): "
                    f"{words}")
